#!/usr/bin/env bats
# lrtest: running an LR range test.

bats_require_minimum_version 1.5.0
load helper

RANGE_HEADER="iter,lr,loss,smooth_loss,acc,val_loss,val_acc"

# --- the range CSV ----------------------------------------------------------

@test "lrtest writes a range CSV with the exact header and numeric rows" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 60 --max-lr 0.5 --eval-every 10 --eval-size 200
	[ "$status" -eq 0 ]
	assert_header "$RANGE_HEADER"
	assert_numeric_output
	[ "${#lines[@]}" -eq 61 ]
}

@test "lrtest reports the finished sweep on stderr, not stdout" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 20 --max-lr 0.5 --eval-every 0
	[ "$status" -eq 0 ]
	grep -q '^lrtest: 20 updates from lr 0.001 to 0.5' <<<"$stderr"
	! grep -q 'updates' <<<"$output"
}

@test "lrtest's linear sweep runs from exactly --min-lr to exactly --max-lr" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 30 --min-lr 0.001 --max-lr 0.3 --no-stop --eval-every 0 -o r.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows r.csv)" -eq 30 ]
	same_double "$(csv_field r.csv lr 0)" 0.001
	same_double "$(csv_last r.csv lr)" 0.3
	same_double "$(csv_last r.csv iter)" 29
}

@test "lrtest's linear sweep takes equal steps" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 11 --min-lr 0.01 --max-lr 0.11 --no-stop --eval-every 0 -o r.csv
	[ "$status" -eq 0 ]
	awk -F, 'NR > 1 { d = $2 - (0.01 + ($1) * 0.01); if (d > 1e-12 || d < -1e-12) exit 1 }' r.csv
}

@test "lrtest's exp sweep runs from exactly --min-lr to exactly --max-lr" {
	run --separate-stderr lrtest "${SMALL[@]}" --sweep exp --iters 30 --min-lr 0.001 --max-lr 0.3 --no-stop --eval-every 0 -o r.csv
	[ "$status" -eq 0 ]
	[ "$(csv_rows r.csv)" -eq 30 ]
	same_double "$(csv_field r.csv lr 0)" 0.001
	same_double "$(csv_last r.csv lr)" 0.3
}

@test "lrtest's exp sweep passes the geometric mean half way" {
	run --separate-stderr lrtest "${SMALL[@]}" --sweep exp --iters 31 --min-lr 0.0001 --max-lr 1 --no-stop --eval-every 0 -o r.csv
	[ "$status" -eq 0 ]
	mid=$(csv_field r.csv lr 15)
	awk -v m="$mid" 'BEGIN { d = m - 0.01; exit !(d < 1e-12 && d > -1e-12) }'
}

@test "lrtest scores the held-out set every --eval-every updates and leaves the other rows empty" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 30 --max-lr 0.3 --no-stop --eval-every 10 --eval-size 100 -o r.csv
	[ "$status" -eq 0 ]
	scored=$(awk -F, 'NR > 1 && $7 != "" { printf "%s ", $1 }' r.csv)
	[ "$scored" = "9 19 29 " ]
	awk -F, 'NR > 1 && $7 != "" { exit !($7 >= 0 && $7 <= 1) }' r.csv
}

@test "lrtest stops early on a diverging loss and says so on stderr" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 100 --max-lr 50 --eval-every 0
	[ "$status" -eq 0 ]
	grep -q '^lrtest: stopped at update ' <<<"$stderr"
	assert_header "$RANGE_HEADER"
	assert_numeric_output
	[ "${#lines[@]}" -lt 101 ]
}

@test "lrtest names a loss that is no longer a number, not as '-nan'" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 50 --max-lr 1e30 --no-stop --eval-every 0 -o r.csv
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"(lr "*"): the loss is not a number"* || "$stderr" == *"): the loss is infinite"* ]]
	[[ "$stderr" != *nan* ]]
	[ "$(wc -l <r.csv)" -lt 51 ]
}

@test "lrtest -q says nothing on stderr" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 100 --max-lr 50 --eval-every 0 -q
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_header "$RANGE_HEADER"
}

@test "lrtest with the same seed writes the same bytes" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 20 --eval-every 5 --eval-size 100 --seed 7 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr lrtest "${SMALL[@]}" --iters 20 --eval-every 5 --eval-size 100 --seed 7 -o b.csv
	[ "$status" -eq 0 ]
	cmp a.csv b.csv
}

@test "lrtest with another seed writes another curve" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 20 --eval-every 0 --seed 7 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr lrtest "${SMALL[@]}" --iters 20 --eval-every 0 --seed 8 -o b.csv
	[ "$status" -eq 0 ]
	! cmp -s a.csv b.csv
}

# --- usage errors ---------------------------------------------------------

@test "lrtest -h prints usage on stdout and exits 0" {
	run --separate-stderr lrtest -h
	[ "$status" -eq 0 ]
	[ "${lines[0]:0:14}" = "usage: lrtest " ]
	[ -z "$stderr" ]
}

@test "lrtest rejects an unknown option with status 2 and usage on stderr" {
	run --separate-stderr lrtest --bogus
	[ "$status" -eq 2 ]
	assert_usage_error
}

@test "lrtest rejects a stray argument with status 2" {
	run --separate-stderr lrtest "${SMALL[@]}" fashion-mnist
	[ "$status" -eq 2 ]
	assert_usage_error
}

@test "lrtest rejects --min-lr equal to --max-lr" {
	run --separate-stderr lrtest --min-lr 0.5 --max-lr 0.5
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--min-lr' <<<"$stderr"
}

@test "lrtest rejects --min-lr above --max-lr" {
	run --separate-stderr lrtest --min-lr 1 --max-lr 0.1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--min-lr' <<<"$stderr"
}

@test "lrtest rejects a sweep of one update" {
	run --separate-stderr lrtest --iters 1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--iters' <<<"$stderr"
}

@test "lrtest rejects an unknown sweep" {
	run --separate-stderr lrtest --sweep cubic
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--sweep' <<<"$stderr"
}

@test "lrtest rejects a non-numeric --max-lr" {
	run --separate-stderr lrtest --max-lr lots
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--max-lr' <<<"$stderr"
}

@test "lrtest rejects an unknown model" {
	run --separate-stderr lrtest --model transformer
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--model' <<<"$stderr"
}

# --- data and output ------------------------------------------------------

@test "lrtest reports a missing data directory by name" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 10 --data /nonexistent-dir
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '/nonexistent-dir' <<<"$stderr"
}

@test "lrtest -o FILE writes the file and nothing on stdout" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 20 --max-lr 0.3 --no-stop --eval-every 0 -o r.csv
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(head -1 r.csv)" = "$RANGE_HEADER" ]
	[ "$(csv_rows r.csv)" -eq 20 ]
	assert_no_temp_files
}

@test "lrtest -o keeps an existing file when the data cannot be loaded" {
	echo old >r.csv
	run --separate-stderr lrtest "${SMALL[@]}" --iters 10 --data /nonexistent-dir -o r.csv
	[ "$status" -eq 1 ]
	[ "$(cat r.csv)" = old ]
	assert_no_temp_files
}

@test "lrtest reports a failed write to a full disk with status 1" {
	run --separate-stderr bash -c 'lrtest --hidden 32 --batch 64 --threads 1 --iters 20 --eval-every 0 >/dev/full'
	[ "$status" -eq 1 ]
	grep -q 'write failed' <<<"$stderr"
}

@test "lrtest --epochs runs one epoch's updates, --accumulate dividing them" {
	run --separate-stderr lrtest --hidden 16 --batch 600 --threads 1 \
	    --epochs 1 --accumulate 4 --max-lr 0.05 --no-stop --eval-every 0
	[ "$status" -eq 0 ]
	# 60000 / 600 = 100 batches, 4 to an update: 25 rows
	[ "${#lines[@]}" -eq 26 ]
}

@test "lrtest refuses --iters together with --epochs" {
	run --separate-stderr lrtest --iters 10 --epochs 1
	[ "$status" -eq 2 ]
	grep -q -- "--iters" <<<"$stderr"
}

@test "lrtest --init starts from a saved model and leaves the file as it was" {
	clrgen --max-lr 0.1 --iters 50 -o s.csv
	train "${SMALL[@]}" --schedule s.csv --save m.model -q -o /dev/null
	sum=$(cksum <m.model)
	run --separate-stderr lrtest "${SMALL[@]}" --init m.model --iters 20 \
	    --max-lr 0.1 --eval-every 0
	[ "$status" -eq 0 ]
	[ "$(cksum <m.model)" = "$sum" ]
	# A trained start: the first loss is far below ln(10) = 2.30.
	awk -F, 'NR == 2 && $3 < 1.5 { ok = 1 } END { exit !ok }' \
	    <<<"$output"
}

@test "lrtest --init refuses a model of another shape, naming the file" {
	clrgen --max-lr 0.1 --iters 10 -o s.csv
	train "${SMALL[@]}" --schedule s.csv --save m.model -q -o /dev/null
	run --separate-stderr lrtest --hidden 16 --init m.model --iters 10
	[ "$status" -eq 1 ]
	grep -q "m.model" <<<"$stderr"
}

@test "lrtest --estimate-lr adds the lr_estimate column" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 40 --max-lr 0.2 \
	    --estimate-lr 5 --eval-every 0
	[ "$status" -eq 0 ]
	assert_header "iter,lr,loss,smooth_loss,acc,val_loss,val_acc,lr_estimate"
	[ -z "$(csv_field /dev/stdin lr_estimate 5 <<<"$output")" ]
	awk -F, 'NR == 41 && $8 > 0 { ok = 1 } END { exit !ok }' <<<"$output"
}

# --- batch-norm statistics for the scoring ----------------------------------

BN_NET=(--model "$BATS_TEST_DIRNAME/fixtures/resblock.json" --batch 32 --threads 1)

@test "lrtest --bn-batches changes only the held-out columns" {
	run --separate-stderr lrtest "${BN_NET[@]}" --iters 20 --max-lr 0.5 --no-stop --eval-every 5 --eval-size 64 -o plain.csv
	[ "$status" -eq 0 ]
	run --separate-stderr lrtest "${BN_NET[@]}" --iters 20 --max-lr 0.5 --no-stop --eval-every 5 --eval-size 64 --bn-batches 3 -o precise.csv
	[ "$status" -eq 0 ]
	cmp <(cut -d, -f1-5 plain.csv) <(cut -d, -f1-5 precise.csv)
	! cmp -s <(cut -d, -f6,7 plain.csv) <(cut -d, -f6,7 precise.csv)
	scored=$(awk -F, 'NR > 1 && $7 != "" { printf "%s ", $1 }' precise.csv)
	[ "$scored" = "4 9 14 19 " ]
}

@test "lrtest --bn-batches writes the same bytes on every run" {
	run --separate-stderr lrtest "${BN_NET[@]}" --iters 10 --max-lr 0.5 --eval-every 5 --eval-size 64 --bn-batches 2 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr lrtest "${BN_NET[@]}" --iters 10 --max-lr 0.5 --eval-every 5 --eval-size 64 --bn-batches 2 -o b.csv
	[ "$status" -eq 0 ]
	cmp a.csv b.csv
}

@test "lrtest --bn-batches leaves a network without batch norm as it was" {
	run --separate-stderr lrtest "${SMALL[@]}" --iters 20 --max-lr 0.3 --eval-every 5 --eval-size 100 -o plain.csv
	[ "$status" -eq 0 ]
	run --separate-stderr lrtest "${SMALL[@]}" --iters 20 --max-lr 0.3 --eval-every 5 --eval-size 100 --bn-batches 4 -o precise.csv
	[ "$status" -eq 0 ]
	cmp plain.csv precise.csv
}

@test "lrtest rejects a negative --bn-batches with status 2" {
	run --separate-stderr lrtest "${SMALL[@]}" --bn-batches -1
	[ "$status" -eq 2 ]
	grep -q -- '--bn-batches' <<<"$stderr"
	[ -z "$output" ]
}

@test "SIGINT stops lrtest with 130, silently, and keeps the old output" {
	echo old >r.csv
	# A background job of a script ignores SIGINT unless told otherwise.
	env --default-signal=INT lrtest "${SMALL[@]}" --no-stop --eval-every 0 \
	    --iters 1000000 -o r.csv 2>err.txt &
	pid=$!
	# Rows going into the temporary file: the test has started.
	for _ in $(seq 100); do
		[ -n "$(find . -name '.r.csv.tmp*' -size +1k)" ] && break
		sleep 0.1
	done
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 130 ]
	[ ! -s err.txt ]
	[ "$(cat r.csv)" = old ]
	assert_no_temp_files
}
