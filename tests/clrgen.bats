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

@test "clrgen refuses at once a schedule larger than the free space, leaving the old file" {
	echo old >s.csv
	run --separate-stderr timeout 20 clrgen --max-lr 1 --iters 1099511627776 -o s.csv
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"clrgen: s.csv: 1099511627776 rows take "*" MB or more, and the file system has "*" MB free"* ]]
	[ "$(cat s.csv)" = old ]
	[ -z "$(ls -A | grep '^\.s\.csv\.tmp')" ]
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

# --- policies -------------------------------------------------------------

# Rows of CSV file $1 against the reference CSV $2 (step,lr,momentum):
# the same number of rows, each value within 1e-9 relative.
assert_close_to_reference() {
	awk -F, 'NR == FNR { if (FNR > 1) { lr[FNR] = $2; m[FNR] = $3 }; n = FNR; next }
		FNR > 1 {
			if (!(FNR in lr)) { print "extra row " FNR; bad = 1; exit }
			d = ($2 - lr[FNR]) / lr[FNR]; if (d < 0) d = -d
			e = ($3 - m[FNR]) / m[FNR]; if (e < 0) e = -e
			if (d > 1e-9 || e > 1e-9) { print "row " FNR ": " $0; bad = 1; exit }
			rows = FNR
		}
		END { if (!bad && rows != n) { print rows " rows, not " n; bad = 1 }; exit bad }
	' "$2" "$1" >&2
}

@test "clrgen --policy constant holds the LR at --max-lr and the momentum at 0.95" {
	run --separate-stderr clrgen --policy constant --max-lr 0.05 --iters 5 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows s.csv)" -eq 5 ]
	[ "$(cut -d, -f2,3 s.csv | sort -u | grep -vc lr)" -eq 1 ]
	same_double "$(csv_last s.csv lr)" 0.05
	same_double "$(csv_last s.csv momentum)" 0.95
}

@test "clrgen --policy step multiplies the LR by --gamma from each milestone on" {
	run --separate-stderr clrgen --policy step --max-lr 0.4 --milestones 3,5 --gamma 0.5 --iters 7 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(cut -d, -f2 s.csv | tr '\n' ' ')" = "lr 0.40000000000000002 0.40000000000000002 0.40000000000000002 0.20000000000000001 0.20000000000000001 0.10000000000000001 0.10000000000000001 " ]
}

@test "clrgen --policy step defaults --gamma to 0.1" {
	run --separate-stderr clrgen --policy step --max-lr 1 --milestones 2 --iters 3 -o s.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field s.csv lr 1)" 1
	same_double "$(csv_field s.csv lr 2)" 0.1
}

@test "clrgen --policy triangular2 halves the amplitude each cycle" {
	run --separate-stderr clrgen --policy triangular2 --min-lr 0.25 --max-lr 2.25 --step-size 2 --iters 13 -o s.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field s.csv lr 2)" 2.25
	same_double "$(csv_field s.csv lr 4)" 0.25
	same_double "$(csv_field s.csv lr 6)" 1.25
	same_double "$(csv_field s.csv lr 10)" 0.75
	same_double "$(csv_field s.csv lr 12)" 0.25
}

@test "clrgen --policy exp_range scales the amplitude by gamma to the global update" {
	run --separate-stderr clrgen --policy exp_range --min-lr 1 --max-lr 3 --step-size 2 --gamma 0.5 --iters 7 -o s.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field s.csv lr 2)" 1.5     # 1 + 2 * 0.5^2
	same_double "$(csv_field s.csv lr 4)" 1
	same_double "$(csv_field s.csv lr 6)" 1.03125 # 1 + 2 * 0.5^6
}

@test "clrgen --exp-range-decay bounds decays both bounds" {
	run --separate-stderr clrgen --policy exp_range --exp-range-decay bounds --min-lr 1 --max-lr 3 --step-size 2 --gamma 0.5 --iters 7 -o s.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field s.csv lr 2)" 0.75    # 3 * 0.5^2
	same_double "$(csv_field s.csv lr 4)" 0.0625  # 1 * 0.5^4
	same_double "$(csv_field s.csv lr 6)" 0.046875
}

@test "clrgen --policy cosine falls from --max-lr to max/10000 by default" {
	run --separate-stderr clrgen --policy cosine --max-lr 0.1 --iters 11 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_field s.csv lr 0)" = 0.10000000000000001 ]
	[ "$(csv_last s.csv lr)" = "$(awk 'BEGIN { printf "%.17g", 0.1 / 10000 }')" ]
	same_double "$(csv_last s.csv momentum)" 0.95
}

@test "clrgen --policy cosine --warmup rises linearly from --min-lr to --max-lr first" {
	run --separate-stderr clrgen --policy cosine --warmup 4 --min-lr 0.02 --max-lr 0.1 --final-lr 1e-6 --iters 14 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_field s.csv lr 0)" = "$(awk 'BEGIN { printf "%.17g", 0.02 }')" ]
	same_double "$(csv_field s.csv lr 4)" 0.1
	[ "$(csv_last s.csv lr)" = "$(awk 'BEGIN { printf "%.17g", 1e-6 }')" ]
}

@test "clrgen cycles momentum against the LR for cyclic policies and holds it for step" {
	run --separate-stderr clrgen --policy triangular --max-lr 1 --step-size 4 --iters 9 -o t.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field t.csv momentum 0)" 0.95
	same_double "$(csv_field t.csv momentum 4)" 0.85
	same_double "$(csv_field t.csv momentum 8)" 0.95
	run --separate-stderr clrgen --policy step --max-lr 1 --milestones 4 --iters 9 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(cut -d, -f3 s.csv | sort -u | grep -vc momentum)" -eq 1 ]
}

@test "clrgen --like pytorch equals PyTorch's OneCycleLR to 1e-9" {
	run --separate-stderr clrgen --like pytorch --max-lr 1 --iters 100 -o s.csv
	[ "$status" -eq 0 ]
	assert_close_to_reference s.csv "$FIXTURES/reference/pytorch-onecycle-cos.csv"
}

@test "clrgen --policy triangular equals PyTorch's CyclicLR to 1e-9" {
	run --separate-stderr clrgen --policy triangular --min-lr 0.1 --max-lr 1 --step-size 10 --momentum-range 0.8:0.9 --iters 60 -o s.csv
	[ "$status" -eq 0 ]
	assert_close_to_reference s.csv "$FIXTURES/reference/pytorch-cyclic-triangular.csv"
}

@test "clrgen --like fastai starts at max/25 and ends exactly on max/1e5" {
	run --separate-stderr clrgen --like fastai --max-lr 0.5 --iters 100 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_field s.csv lr 0)" = "$(awk 'BEGIN { printf "%.17g", 0.5 / 25 }')" ]
	[ "$(csv_last s.csv lr)" = "$(awk 'BEGIN { printf "%.17g", 0.5 / 1e5 }')" ]
	same_double "$(csv_field s.csv momentum 24)" 0.84999999999999998
}

@test "clrgen --like smith is the default" {
	run --separate-stderr clrgen --like smith --max-lr 0.3 --iters 50 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr clrgen --max-lr 0.3 --iters 50 -o b.csv
	[ "$status" -eq 0 ]
	cmp a.csv b.csv
}

@test "clrgen options override a --like preset, before or after it" {
	run --separate-stderr clrgen --anneal linear --like pytorch --max-lr 1 --iters 100 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr clrgen --like pytorch --anneal linear --max-lr 1 --iters 100 -o b.csv
	[ "$status" -eq 0 ]
	cmp a.csv b.csv
	run --separate-stderr clrgen --like pytorch --max-lr 1 --iters 100 -o c.csv
	[ "$status" -eq 0 ]
	! cmp -s a.csv c.csv
	run --separate-stderr clrgen --anneal linear --phases 2 --pct-start 0.3 --div 25 --final-div 1e4 --max-lr 1 --iters 100 -o d.csv
	[ "$status" -eq 0 ]
	cmp a.csv d.csv
}

@test "clrgen writes no row past the last update, which holds the final LR" {
	run --separate-stderr clrgen --like pytorch --max-lr 1 --epochs 2 --data-size 1000 --batch 100 -o s.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows s.csv)" -eq 20 ]
	[ "$(csv_last s.csv iter)" = 19 ]
	[ "$(csv_last s.csv lr)" = "$(awk 'BEGIN { printf "%.17g", 1 / 25 / 1e4 }')" ]
}

@test "clrgen streams a long schedule to its last row" {
	run --separate-stderr bash -c 'clrgen --max-lr 1 --iters 1000000 | tail -1'
	[ "$status" -eq 0 ]
	[ "$output" = "999999,0.0001,0.94999999999999996" ]
}

@test "clrgen's rows are what printf's %.17g writes" {
	run --separate-stderr clrgen --policy exp_range --min-lr 1e-7 --max-lr 3 --gamma 0.999 --step-size 300 --iters 3000 -o s.csv
	[ "$status" -eq 0 ]
	awk -F, 'NR > 1 && sprintf("%d,%.17g,%.17g", $1, $2, $3) != $0 { print; bad = 1; exit } END { exit bad }' s.csv
}

# --- refusals ---------------------------------------------------------------

# clrgen ARGS... is refused with status 2, naming option $1, writing no
# row and leaving an existing -o file alone.
refused_naming() {
	local option=$1
	shift
	echo old >out.csv
	run --separate-stderr clrgen "$@" -o out.csv
	[ "$status" -eq 2 ] || { echo "status $status for: $*" >&2; return 1; }
	[ -z "$output" ]
	[ "$(cat out.csv)" = old ]
	assert_no_temp_files
	grep -q -- "^clrgen: .*$option" <<<"$stderr" || {
		echo "'$stderr' does not name $option" >&2
		return 1
	}
	run --separate-stderr clrgen "$@"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
}

@test "clrgen refuses exp_range bounds decay whose LR would underflow" {
	refused_naming --gamma --policy exp_range --exp-range-decay bounds --max-lr 1 --step-size 10 --gamma 0.5 --iters 2000
}

@test "clrgen refuses a step gamma that takes the LR to 0" {
	refused_naming --gamma --policy step --max-lr 1e-300 --milestones 2 --gamma 1e-20 --iters 5
}

@test "clrgen refuses a gamma of 0 or below" {
	refused_naming --gamma --policy step --max-lr 1 --milestones 2 --gamma 0 --iters 5
	refused_naming --gamma --policy exp_range --max-lr 1 --step-size 2 --gamma -0.5 --iters 5
}

@test "clrgen refuses a cosine final LR of 0" {
	refused_naming --final-lr --policy cosine --max-lr 1 --final-lr 0 --iters 5
}

@test "clrgen refuses --pct-start outside (0,1) or a phase with no update" {
	refused_naming --pct-start --max-lr 1 --pct-start 0 --iters 20
	refused_naming --pct-start --max-lr 1 --pct-start 1 --iters 20
	refused_naming --pct-start --max-lr 1 --pct-start 0.6 --iters 10
	refused_naming --pct-start --max-lr 1 --pct-start 0.05 --iters 10
}

@test "clrgen refuses a step size of 0" {
	refused_naming --step-size --policy triangular --max-lr 1 --step-size 0 --iters 10
	refused_naming --step-size-down --policy triangular --max-lr 1 --step-size 2 --step-size-down 0 --iters 10
}

@test "clrgen refuses milestones out of order, duplicated or past the end" {
	refused_naming --milestones --policy step --max-lr 1 --milestones 6,3 --iters 10
	refused_naming --milestones --policy step --max-lr 1 --milestones 3,3 --iters 10
	refused_naming --milestones --policy step --max-lr 1 --milestones 3,10 --iters 10
	refused_naming --milestones --policy step --max-lr 1 --milestones 3,x --iters 10
	refused_naming --milestones --policy step --max-lr 1 --iters 10
}

@test "clrgen refuses a momentum outside [0,1)" {
	refused_naming --momentum --max-lr 1 --momentum 1 --iters 10
	refused_naming --momentum-range --max-lr 1 --momentum-range 0.9:1.2 --iters 10
	refused_naming --momentum-range --max-lr 1 --momentum-range -0.1:0.9 --iters 10
	refused_naming --momentum-range --max-lr 1 --momentum-range 0.95:0.85 --iters 10
}

@test "clrgen refuses a length of 0 and contradictory lengths" {
	refused_naming --iters --max-lr 1 --iters 0
	refused_naming --epochs --max-lr 1 --epochs 0 --steps-per-epoch 5
	refused_naming --steps-per-epoch --max-lr 1 --steps-per-epoch 0 --epochs 2
	refused_naming --batch --max-lr 1 --epochs 1 --data-size 10 --batch 20 --drop-last
	refused_naming --iters --max-lr 1 --iters 10 --data-size 100 --batch 10
	refused_naming --epochs --max-lr 1 --data-size 100 --batch 10
}

@test "clrgen refuses options the policy would ignore" {
	refused_naming --milestones --max-lr 1 --milestones 5 --iters 10
	refused_naming --pct-start --policy triangular --max-lr 1 --step-size 2 --pct-start 0.3 --iters 10
	refused_naming --gamma --policy triangular --max-lr 1 --step-size 2 --gamma 0.9 --iters 10
	refused_naming --warmup --max-lr 1 --warmup 5 --iters 10
	refused_naming --exp-range-decay --policy triangular2 --max-lr 1 --step-size 2 --exp-range-decay bounds --iters 10
	refused_naming --min-lr --policy constant --max-lr 1 --min-lr 0.1 --iters 10
	refused_naming --min-lr --policy cosine --max-lr 1 --min-lr 0.1 --iters 10
	refused_naming --momentum-range --policy constant --max-lr 1 --momentum-range 0.8:0.9 --iters 10
	refused_naming --like --policy cosine --like pytorch --max-lr 1 --iters 10
	refused_naming --anneal --policy cosine --anneal linear --max-lr 1 --iters 10
	refused_naming --final-div --policy step --max-lr 1 --milestones 5 --final-div 10 --iters 10
}

@test "clrgen refuses contradictory bounds options" {
	refused_naming --min-lr --max-lr 1 --min-lr 0.1 --div 4 --iters 10
	refused_naming --final-lr --max-lr 1 --final-lr 1e-4 --final-div 100 --iters 10
	refused_naming --momentum --max-lr 1 --momentum 0.9 --momentum-range 0.8:0.9 --iters 10
}

@test "clrgen refuses an unknown preset, naming the known ones" {
	refused_naming fastai --like keras --max-lr 1 --iters 10
}

# --- lrplot draws every policy ------------------------------------------------

@test "lrplot draws the schedule of every policy" {
	lrplot() { "$BATS_TEST_DIRNAME/../scripts/lrplot" "$@"; }
	clrgen --policy constant --max-lr 0.1 --iters 50 -o constant.csv
	clrgen --policy step --max-lr 0.1 --milestones 20,40 --iters 50 -o step.csv
	clrgen --policy triangular --max-lr 0.1 --step-size 5 --iters 50 -o triangular.csv
	clrgen --policy triangular2 --max-lr 0.1 --step-size 5 --iters 50 -o triangular2.csv
	clrgen --policy exp_range --max-lr 0.1 --step-size 5 --gamma 0.98 --iters 50 -o exp_range.csv
	clrgen --policy exp_range --exp-range-decay bounds --max-lr 0.1 --step-size 5 --gamma 0.98 --iters 50 -o exp_bounds.csv
	clrgen --like pytorch --max-lr 0.1 --iters 50 -o 1cycle.csv
	clrgen --policy cosine --warmup 5 --max-lr 0.1 --iters 50 -o cosine.csv
	for f in constant step triangular triangular2 exp_range exp_bounds 1cycle cosine; do
		run --separate-stderr lrplot -q -o - "$f.csv"
		[ "$status" -eq 0 ] || { echo "$f: $stderr" >&2; return 1; }
		[[ "$output" == *"Learning-rate schedule: $f.csv"* ]]
		[[ "$output" == *"momentum"* ]]
		run --separate-stderr lrplot -q -o "$f.png" "$f.csv"
		[ "$status" -eq 0 ]
		[ "$(head -c 4 "$f.png" | tail -c 3)" = PNG ]
	done
}

# --- the manual's examples --------------------------------------------------

# The literal blocks of the EXAMPLES section of clrgen(1), each as a shell
# script, ended by a NUL byte.
man_examples() {
	awk '
		/^\.Sh EXAMPLES/ { on = 1; next }
		/^\.Sh / { on = 0 }
		on && /^\.Bd -literal/ { block = ""; inblock = 1; next }
		on && /^\.Ed/ { printf "%s%c", block, 0; inblock = 0; next }
		inblock { gsub(/\\e/, "\\"); block = block $0 "\n" }
	' "$BATS_TEST_DIRNAME/../man/man1/clrgen.1"
}

@test "the EXAMPLES of clrgen(1) run and write schedules" {
	local blocks n=0 f
	cp "$FIXTURES/bounds.json" "$FIXTURES/range.csv" .
	PATH="$BATS_TEST_DIRNAME/../scripts:$PATH"
	mapfile -d '' blocks < <(man_examples)
	[ "${#blocks[@]}" -ge 8 ]
	for block in "${blocks[@]}"; do
		n=$((n + 1))
		run --separate-stderr bash -e -o pipefail -c "$block" </dev/null
		[ "$status" -eq 0 ] || {
			printf 'example %d failed:\n%s%s\n' "$n" "$block" "$stderr" >&2
			return 1
		}
	done
	for f in schedule pytorch fastai triangular triangular2 amplitude bounds step cosine; do
		[ "$(head -1 "$f.csv")" = "iter,lr,momentum" ]
		assert_numeric_csv "$f.csv"
	done
	[ "$(csv_rows step.csv)" -eq 80000 ]
	[ "$(csv_rows cosine.csv)" -eq 14070 ]
	[ "$(head -c 4 schedule.png | tail -c 3)" = PNG ]
}
