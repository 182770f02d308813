#!/usr/bin/env bats
# lrsuggest: reading a range-test curve and proposing LR bounds.

bats_require_minimum_version 1.5.0
load helper

# A short real range test, the input of the happy-path tests.
small_range_test() {
	lrtest "${SMALL[@]}" --iters 60 --max-lr 0.5 --eval-every 10 \
	    --eval-size 200 -q >range-run.csv
}

# --- suggestions ------------------------------------------------------------

@test "lrsuggest turns lrtest's CSV on stdin into bounds JSON with min_lr below max_lr" {
	small_range_test
	run --separate-stderr lrsuggest <range-run.csv
	[ "$status" -eq 0 ]
	jq -e '(.min_lr | type) == "number" and (.max_lr | type) == "number"
	    and .min_lr > 0 and .min_lr < .max_lr and (has("reason") | not)' \
	    <<<"$output"
	[ -z "$stderr" ]
}

@test "lrsuggest reads the range CSV named on the command line" {
	small_range_test
	run --separate-stderr lrsuggest range-run.csv
	[ "$status" -eq 0 ]
	jq -e '.min_lr < .max_lr' <<<"$output"
}

@test "lrsuggest's peak method takes max_lr at the lowest smoothed loss when there is no held-out accuracy" {
	run --separate-stderr lrsuggest "$FIXTURES/curve-valley.csv"
	[ "$status" -eq 0 ]
	jq -e '.method == "peak" and .source == "smooth_loss"' <<<"$output"
	# Row 43 holds the curve's lowest loss.
	jq -e '.max_lr == 0.440624' <<<"$output"
}

@test "lrsuggest --div sets min_lr to max_lr divided by it" {
	run --separate-stderr lrsuggest --div 4 "$FIXTURES/curve-valley.csv"
	[ "$status" -eq 0 ]
	jq -e '.div == 4 and .min_lr == .max_lr / 4' <<<"$output"
}

@test "lrsuggest --method steep finds an LR inside the falling part of the curve" {
	run --separate-stderr lrsuggest --method steep "$FIXTURES/curve-valley.csv"
	[ "$status" -eq 0 ]
	# The loss falls fastest around lr 0.01 and bottoms out at 0.44.
	jq -e '.method == "steep" and .steepest_lr == .max_lr and
	    .max_lr > 0.003 and .max_lr < 0.03 and .slope < 0 and
	    .min_lr < .max_lr' <<<"$output"
}

# --- refusals -----------------------------------------------------------

@test "lrsuggest refuses a curve whose loss never falls, with a reason in JSON and no min_lr" {
	run --separate-stderr lrsuggest "$FIXTURES/curve-rising.csv"
	[ "$status" -eq 1 ]
	jq -e '(.reason | type) == "string" and (has("min_lr") | not) and
	    (has("max_lr") | not)' <<<"$output"
	grep -q '^lrsuggest: no suggestion: ' <<<"$stderr"
}

@test "lrsuggest --method steep refuses a curve whose loss never falls" {
	run --separate-stderr lrsuggest --method steep "$FIXTURES/curve-rising.csv"
	[ "$status" -eq 1 ]
	jq -e 'has("reason") and (has("min_lr") | not)' <<<"$output"
}

@test "lrsuggest's refusal is a bounds file that clrgen refuses with the same reason" {
	run --separate-stderr lrsuggest -o refused.json "$FIXTURES/curve-rising.csv"
	[ "$status" -eq 1 ]
	reason=$(jq -r .reason refused.json)
	run --separate-stderr clrgen --bounds refused.json --iters 10
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -qF "$reason" <<<"$stderr"
}

@test "lrsuggest refuses a curve with too few rows" {
	run --separate-stderr lrsuggest "$FIXTURES/curve-short.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'at least 5' <<<"$stderr"
}

@test "lrsuggest names the file of a header-only curve, and counts one row in the singular" {
	head -n 1 "$FIXTURES/range.csv" >h.csv
	run --separate-stderr lrsuggest h.csv
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^lrsuggest: h.csv: no data rows: at least 5 are needed$' \
	    <<<"$stderr"
	head -n 2 "$FIXTURES/range.csv" >one.csv
	run --separate-stderr lrsuggest <one.csv
	[ "$status" -eq 1 ]
	grep -q '^lrsuggest: <stdin>: 1 row, ' <<<"$stderr"
}

@test "lrsuggest refuses a curve whose lr falls, naming the file and line" {
	{ head -n 1 "$FIXTURES/range.csv"
	  tail -n +2 "$FIXTURES/range.csv" | tac; } >falling.csv
	run --separate-stderr lrsuggest falling.csv -o out.json
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^lrsuggest: falling.csv: line 3: lr .* rising lr' <<<"$stderr"
	assert_no_file out.json
}

@test "lrsuggest takes a curve whose lr repeats" {
	awk -F, -v OFS=, 'NR > 1 { print; if (NR == 10) print } NR == 1' \
	    "$FIXTURES/range.csv" >repeat.csv
	run --separate-stderr lrsuggest repeat.csv
	[ "$status" -eq 0 ]
	jq -e '.max_lr > .min_lr' <<<"$output"
}

# --- malformed input ------------------------------------------------------

@test "lrsuggest reports a missing input file by name" {
	run --separate-stderr lrsuggest no-such-range.csv
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^lrsuggest: no-such-range.csv: ' <<<"$stderr"
}

@test "lrsuggest names the line of a non-numeric lr" {
	run --separate-stderr lrsuggest "$FIXTURES/bad-range-nonnumeric.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'bad-range-nonnumeric.csv: line 4: ' <<<"$stderr"
	grep -q "'lr'" <<<"$stderr"
}

@test "lrsuggest names the line of a val_acc outside 0 to 1, or NaN" {
	for bad in 1.7 -0.1 nan; do
		awk -F, -v OFS=, -v bad="$bad" \
		    'NR == 1 || $7 == "" { print; next }
		     !done { $7 = bad; done = 1 } { print }' \
		    "$FIXTURES/range.csv" >badacc.csv
		line=$(awk -F, 'NR > 1 && $7 != "" { print NR; exit }' \
		    "$FIXTURES/range.csv")
		run --separate-stderr lrsuggest badacc.csv -o out.json
		[ "$status" -eq 1 ]
		grep -q "^lrsuggest: badacc.csv: line $line: val_acc must be from 0 to 1 .*not $bad\$" <<<"$stderr"
		assert_no_file out.json
	done
}

@test "lrsuggest names the line of a ragged row" {
	run --separate-stderr lrsuggest "$FIXTURES/bad-range-ragged.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'bad-range-ragged.csv: line 4: ' <<<"$stderr"
}

@test "lrsuggest names a missing required column" {
	run --separate-stderr lrsuggest "$FIXTURES/bad-range-no-lr.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'missing: lr' <<<"$stderr"
}

@test "lrsuggest names the line of a malformed CSV read from stdin" {
	run --separate-stderr lrsuggest <"$FIXTURES/bad-range-nonnumeric.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'line 4' <<<"$stderr"
}

# --- usage -----------------------------------------------------------------

@test "lrsuggest -h prints usage on stdout and exits 0" {
	run --separate-stderr lrsuggest -h
	[ "$status" -eq 0 ]
	[ "${lines[0]:0:17}" = "usage: lrsuggest " ]
	[ -z "$stderr" ]
}

@test "lrsuggest rejects an unknown option with status 2 and usage on stderr" {
	run --separate-stderr lrsuggest --bogus "$FIXTURES/curve-valley.csv"
	[ "$status" -eq 2 ]
	assert_usage_error
}

@test "lrsuggest rejects an unknown method, naming the known ones" {
	run --separate-stderr lrsuggest --method guess "$FIXTURES/curve-valley.csv"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q 'steep' <<<"$stderr"
}

@test "lrsuggest rejects two input files" {
	run --separate-stderr lrsuggest "$FIXTURES/curve-valley.csv" "$FIXTURES/curve-rising.csv"
	[ "$status" -eq 2 ]
	assert_usage_error
}

@test "lrsuggest rejects a --div of 1 or below, saying what it takes" {
	for d in 0.5 1 -5; do
		run --separate-stderr lrsuggest --div "$d" \
		    "$FIXTURES/curve-valley.csv"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		grep -q -- "--div: must be above 1 .*, not $d\$" <<<"$stderr"
	done
}

# --- output ----------------------------------------------------------------

@test "lrsuggest -o FILE writes the file and nothing on stdout" {
	run --separate-stderr lrsuggest -o bounds-out.json "$FIXTURES/curve-valley.csv"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	jq -e '.min_lr < .max_lr' bounds-out.json
	assert_no_temp_files
}

@test "lrsuggest -o keeps an existing file when the input is malformed" {
	echo old >bounds-out.json
	run --separate-stderr lrsuggest -o bounds-out.json "$FIXTURES/bad-range-ragged.csv"
	[ "$status" -eq 1 ]
	[ "$(cat bounds-out.json)" = old ]
	assert_no_temp_files
}

@test "lrsuggest reports a failed write to a full disk with status 1" {
	run --separate-stderr bash -c "lrsuggest '$FIXTURES/curve-valley.csv' >/dev/full"
	[ "$status" -eq 1 ]
	grep -q 'write failed' <<<"$stderr"
}

@test "lrsuggest peak falls back to the loss when val_acc is present but empty" {
	lrtest --hidden 32 --batch 64 --threads 1 --iters 80 --max-lr 0.5 \
	    --eval-every 0 -q -o range.csv
	run --separate-stderr lrsuggest --method peak range.csv
	[ "$status" -eq 0 ]
	jq -e '.source == "smooth_loss" and .min_lr < .max_lr' <<<"$output"
}

@test "lrsuggest --method all reports every method and takes peak's bounds" {
	lrtest "${SMALL[@]}" --iters 150 --max-lr 0.3 --eval-every 10 -q \
	    -o range.csv
	run --separate-stderr lrsuggest --method all range.csv
	[ "$status" -eq 0 ]
	jq -e '.chosen == "peak" and .max_lr == .methods.peak.max_lr' \
	    <<<"$output"
	jq -e '.methods | has("valley") and has("steep") and has("minimum")' \
	    <<<"$output"
}

@test "lrsuggest valley and minimum answer on a real curve" {
	lrtest "${SMALL[@]}" --iters 150 --max-lr 1 --eval-every 0 -q \
	    -o range.csv
	for m in valley minimum; do
		run --separate-stderr lrsuggest --method "$m" range.csv
		[ "$status" -eq 0 ]
		jq -e ".method == \"$m\" and .min_lr < .max_lr" <<<"$output"
	done
}

@test "lrsuggest --method all on a curve that never falls refuses with a reason" {
	run --separate-stderr lrsuggest --method all "$FIXTURES/curve-rising.csv"
	[ "$status" -eq 1 ]
	jq -e 'has("reason") and (has("max_lr") | not)' <<<"$output"
}

# --- peak's tolerance -------------------------------------------------------

# A held-out accuracy that rises to 0.80 at lr 0.4, falls to 0.70 at 0.5
# and spikes to 0.90 at 0.8; 20 rows, every other one scored.
ragged_curve() {
	awk 'BEGIN {
		print "iter,lr,loss,val_acc"
		split("0.60 0.70 0.75 0.80 0.70 0.78 0.76 0.90 0.60 0.50", a, " ")
		for (i = 0; i < 20; i++)
			printf "%d,%.1f,%g,%s\n", i, (i + 1) / 10, 2 - i / 20,
			    i % 2 ? a[(i + 1) / 2] : ""
	}' >ragged.csv
}

@test "lrsuggest's peak stops where held-out accuracy first falls past the tolerance" {
	ragged_curve
	run --separate-stderr lrsuggest --skip-start 0 --skip-end 0 ragged.csv
	[ "$status" -eq 0 ]
	jq -e '.max_lr == 0.8 and .peak_val_acc == 0.8 and .fall_lr == 1
	    and .highest_lr == 1.6 and .tolerance == 0.03' <<<"$output"
}

@test "lrsuggest --tolerance 1 takes the highest held-out accuracy" {
	ragged_curve
	run --separate-stderr lrsuggest --tolerance 1 --skip-start 0 --skip-end 0 ragged.csv
	[ "$status" -eq 0 ]
	jq -e '.max_lr == 1.6 and .highest_lr == 1.6 and (has("fall_lr") | not)' \
	    <<<"$output"
}

@test "lrsuggest rejects a --tolerance outside 0 to 1 with status 2" {
	run --separate-stderr lrsuggest --tolerance 1.5 "$FIXTURES/range.csv"
	[ "$status" -eq 2 ]
	grep -q -- '--tolerance' <<<"$stderr"
	[ -z "$output" ]
}
