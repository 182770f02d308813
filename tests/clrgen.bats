#!/usr/bin/env bats
# clrgen: writing learning-rate and momentum schedules.

bats_require_minimum_version 1.5.0
load helper

# --- the schedule it writes -------------------------------------------

@test "clrgen writes a schedule CSV with the exact header and numeric rows" {
	run --separate-stderr clrgen --max-lr 1 --iters 25
	[ "$status" -eq 0 ]
	assert_header "iter,lr,momentum"
	assert_numeric_output
	[ -z "$stderr" ]
}

@test "clrgen counts iter from 0 up by one" {
	run --separate-stderr clrgen --max-lr 1 --iters 25
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >s.csv
	awk -F, 'NR > 1 && $1 != NR - 2 { exit 1 }' s.csv
}

@test "clrgen --iters N writes N rows" {
	run --separate-stderr clrgen --max-lr 1 --iters 25 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows s.csv)" -eq 25 ]
}

@test "clrgen --epochs with --steps-per-epoch writes epochs times steps rows" {
	run --separate-stderr clrgen --max-lr 1 --epochs 3 --steps-per-epoch 7 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows s.csv)" -eq 21 ]
}

@test "clrgen --epochs --data-size --batch counts the partial last batch" {
	# ceil(1000 / 128) = 8 updates an epoch.
	run --separate-stderr clrgen --max-lr 1 --epochs 3 --data-size 1000 --batch 128 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows s.csv)" -eq 24 ]
}

@test "clrgen --drop-last leaves the partial last batch out" {
	# floor(1000 / 128) = 7 updates an epoch.
	run --separate-stderr clrgen --max-lr 1 --epochs 3 --data-size 1000 --batch 128 --drop-last -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows s.csv)" -eq 21 ]
}

@test "clrgen's 1cycle starts at max/10 and peaks at exactly --max-lr" {
	run --separate-stderr clrgen --max-lr 0.3 --iters 20 --pct-start 0.25 -o s.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field s.csv lr 0)" "$(awk 'BEGIN { printf "%.17g", 0.3 / 10 }')"
	peak=$(awk -F, 'NR > 1 && $2 + 0 > m + 0 { m = $2 } END { print m }' s.csv)
	same_double "$peak" 0.3
}

@test "clrgen's 1cycle ends on the default final LR, max/10/1000, exactly as printed" {
	run --separate-stderr clrgen --max-lr 0.3 --iters 25 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_last s.csv lr)" = "$(awk 'BEGIN { printf "%.17g", 0.3 / 10 / 1000 }')" ]
}

@test "clrgen's 1cycle ends exactly on --final-lr" {
	run --separate-stderr clrgen --max-lr 0.3 --iters 25 --final-lr 3e-5 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_last s.csv lr)" = "$(awk 'BEGIN { printf "%.17g", 3e-5 }')" ]
}

@test "clrgen's two-phase cosine 1cycle also ends exactly on the final LR" {
	run --separate-stderr clrgen --max-lr 1 --iters 20 --phases 2 --anneal cos --final-lr 1e-4 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_last s.csv lr)" = "$(awk 'BEGIN { printf "%.17g", 1e-4 }')" ]
}

@test "clrgen cycles momentum down from 0.95 while the LR rises" {
	run --separate-stderr clrgen --max-lr 1 --iters 20 --pct-start 0.25 -o s.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field s.csv momentum 0)" 0.95
	same_double "$(csv_field s.csv momentum 4)" 0.85
}

@test "clrgen's triangular policy repeats its cycle every two step sizes" {
	run --separate-stderr clrgen --policy triangular --min-lr 0.1 --max-lr 1 --step-size 3 --iters 12 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows s.csv)" -eq 12 ]
	same_double "$(csv_field s.csv lr 0)" 0.1
	same_double "$(csv_field s.csv lr 3)" 1
	same_double "$(csv_field s.csv lr 6)" 0.1
	same_double "$(csv_field s.csv lr 9)" 1
}

@test "clrgen --format json writes one parsable object per update" {
	run --separate-stderr clrgen --max-lr 1 --iters 10 --format json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 10 ]
	jq -e -s 'length == 10 and .[0].iter == 0 and .[9].iter == 9 and
	    all(.[]; .lr > 0 and .momentum > 0)' <<<"$output"
}

# --- bounds from a file or a pipe ---------------------------------------

@test "clrgen reads the bounds JSON named by --bounds" {
	run --separate-stderr clrgen --bounds "$FIXTURES/curve-bounds.json" --iters 20 -o s.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field s.csv lr 0)" 0.025
	[ "$(csv_last s.csv lr)" = "$(awk 'BEGIN { printf "%.17g", 0.025 / 1000 }')" ]
}

@test "clrgen reads a bounds JSON on standard input" {
	run --separate-stderr clrgen --iters 20 <"$FIXTURES/curve-bounds.json"
	[ "$status" -eq 0 ]
	assert_header "iter,lr,momentum"
	printf '%s\n' "$output" >s.csv
	same_double "$(csv_field s.csv lr 0)" 0.025
}

@test "clrgen refuses a bounds JSON that holds a reason and no max_lr, repeating the reason" {
	run --separate-stderr clrgen --bounds "$FIXTURES/bad-bounds-reason.json" --iters 20
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'held-out accuracy never rises in this test' <<<"$stderr"
}

@test "clrgen refuses a piped bounds JSON that holds a reason" {
	run --separate-stderr clrgen --iters 20 <"$FIXTURES/bad-bounds-reason.json"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'held-out accuracy never rises in this test' <<<"$stderr"
}

@test "clrgen refuses a malformed bounds JSON, naming the file" {
	run --separate-stderr clrgen --bounds "$FIXTURES/bad-bounds-truncated.json" --iters 20
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'bad-bounds-truncated.json' <<<"$stderr"
}

@test "clrgen refuses a bounds file whose min_lr is not below max_lr, as a data error naming the file" {
	run --separate-stderr clrgen --bounds "$FIXTURES/bad-bounds-inverted.json" --iters 20
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'bad-bounds-inverted.json' <<<"$stderr"
}

@test "clrgen reports a missing --bounds file by name" {
	run --separate-stderr clrgen --bounds no-such-bounds.json --iters 20
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^clrgen: no-such-bounds.json: ' <<<"$stderr"
}

# --- usage errors ---------------------------------------------------------

@test "clrgen -h prints usage on stdout and exits 0" {
	run --separate-stderr clrgen -h
	[ "$status" -eq 0 ]
	[ "${lines[0]:0:14}" = "usage: clrgen " ]
	[ -z "$stderr" ]
}

@test "clrgen rejects an unknown option with status 2 and usage on stderr" {
	run --separate-stderr clrgen --bogus --max-lr 1 --iters 10
	[ "$status" -eq 2 ]
	assert_usage_error
}

@test "clrgen rejects --min-lr equal to --max-lr" {
	run --separate-stderr clrgen --min-lr 0.5 --max-lr 0.5 --iters 10
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--min-lr' <<<"$stderr"
}

@test "clrgen rejects --min-lr above --max-lr" {
	run --separate-stderr clrgen --min-lr 2 --max-lr 1 --iters 10
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--min-lr' <<<"$stderr"
}

@test "clrgen rejects --iters together with --epochs" {
	run --separate-stderr clrgen --max-lr 1 --iters 10 --epochs 2 --steps-per-epoch 5
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--iters' <<<"$stderr"
}

@test "clrgen rejects --steps-per-epoch together with --data-size" {
	run --separate-stderr clrgen --max-lr 1 --epochs 2 --steps-per-epoch 5 --data-size 100 --batch 10
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--steps-per-epoch' <<<"$stderr"
}

@test "clrgen without a length says how to give one" {
	run --separate-stderr clrgen --max-lr 1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--iters' <<<"$stderr"
}

@test "clrgen rejects --pct-start 1.5, naming --pct-start" {
	run --separate-stderr clrgen --max-lr 1 --iters 20 --pct-start 1.5
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--pct-start' <<<"$stderr"
}

@test "clrgen's triangular policy needs --step-size" {
	run --separate-stderr clrgen --policy triangular --max-lr 1 --iters 20
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--step-size' <<<"$stderr"
}

@test "clrgen rejects a 1cycle-only option with the triangular policy" {
	run --separate-stderr clrgen --policy triangular --max-lr 1 --iters 20 --step-size 5 --pct-start 0.3
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--pct-start' <<<"$stderr"
}

@test "clrgen rejects --step-size with the 1cycle policy" {
	run --separate-stderr clrgen --max-lr 1 --iters 20 --step-size 5
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--step-size' <<<"$stderr"
}

@test "clrgen rejects an unknown policy, naming the known ones" {
	run --separate-stderr clrgen --policy sawtooth --max-lr 1 --iters 20
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q 'triangular' <<<"$stderr"
}

@test "clrgen rejects --max-lr together with --bounds" {
	run --separate-stderr clrgen --max-lr 1 --bounds "$FIXTURES/curve-bounds.json" --iters 20
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--bounds' <<<"$stderr"
}

# --- output files ---------------------------------------------------------

@test "clrgen -o FILE writes the file and nothing on stdout" {
	run --separate-stderr clrgen --max-lr 1 --iters 10 -o out.csv
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(head -1 out.csv)" = "iter,lr,momentum" ]
	[ "$(csv_rows out.csv)" -eq 10 ]
	assert_no_temp_files
}

@test "clrgen -o keeps an existing file when an option is unknown" {
	echo old >out.csv
	run --separate-stderr clrgen -o out.csv --max-lr 1 --iters 10 --bogus
	[ "$status" -eq 2 ]
	[ "$(cat out.csv)" = old ]
	assert_no_temp_files
}

@test "clrgen -o keeps an existing file when the parameters are refused" {
	echo old >out.csv
	run --separate-stderr clrgen -o out.csv --max-lr 1 --iters 10 --pct-start 1.5
	[ "$status" -eq 2 ]
	[ "$(cat out.csv)" = old ]
	assert_no_temp_files
}

@test "clrgen -o does not create a file when the bounds are refused" {
	run --separate-stderr clrgen -o out.csv --bounds "$FIXTURES/bad-bounds-reason.json" --iters 10
	[ "$status" -eq 1 ]
	assert_no_file out.csv
	assert_no_temp_files
}

@test "clrgen reports a failed write to a full disk with status 1" {
	run --separate-stderr bash -c 'clrgen --max-lr 1 --iters 10 >/dev/full'
	[ "$status" -eq 1 ]
	grep -q 'write failed' <<<"$stderr"
}

@test "clrgen refuses a --final-lr above --max-lr" {
	run --separate-stderr clrgen --max-lr 1 --final-lr 2 --iters 20
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- "--final-lr" <<<"$stderr"
}

@test "clrgen's cosine 1cycle starts exactly at the lower bound" {
	run --separate-stderr clrgen --max-lr 1 --min-lr 0.1 --iters 20 \
	    --anneal cos
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "0,0.10000000000000001,0.94999999999999996" ]
}
