#!/usr/bin/env bats
# train: training a network with a learning-rate schedule, and the whole
# pipeline from the range test to the trained model.

bats_require_minimum_version 1.5.0
load helper

TRAIN_HEADER="iter,epoch,lr,momentum,loss,acc,val_loss,val_acc"

# A 1cycle schedule of $1 updates (default 40) in sched.csv.
make_schedule() {
	clrgen --max-lr 0.1 --iters "${1:-40}" -o sched.csv
}

# --- the pipeline -----------------------------------------------------------

@test "lrtest, lrsuggest, clrgen and train run as one pipeline" {
	run --separate-stderr bash -c '
		set -o pipefail
		lrtest --hidden 32 --batch 64 --threads 1 --iters 60 \
		    --max-lr 0.5 --eval-every 10 --eval-size 200 -q |
		lrsuggest |
		clrgen --epochs 1 --steps-per-epoch 40 |
		train --schedule - --iters 40 --hidden 32 --batch 64 \
		    --threads 1 --summary summary.json --save model.ckpt -q'
	[ "$status" -eq 0 ]
	assert_header "$TRAIN_HEADER"
	assert_numeric_output
	jq -e '.updates == 40 and .test_acc >= 0 and .test_acc <= 1' summary.json
	[ "$(head -c 7 model.ckpt)" = SCMODEL ]
}

@test "train writes a training CSV with the exact header and numeric rows" {
	make_schedule
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv
	[ "$status" -eq 0 ]
	assert_header "$TRAIN_HEADER"
	assert_numeric_output
}

@test "train reads the schedule from standard input" {
	make_schedule
	run --separate-stderr train "${SMALL[@]}" --schedule - <sched.csv
	[ "$status" -eq 0 ]
	assert_header "$TRAIN_HEADER"
	assert_numeric_output
}

@test "train logs every --log-every updates and scores the held-out set after the last" {
	make_schedule 40
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --log-every 10 -o log.csv
	[ "$status" -eq 0 ]
	[ "$(awk -F, 'NR > 1 { printf "%s ", $1 }' log.csv)" = "9 19 29 39 " ]
	val=$(csv_last log.csv val_acc)
	[ -n "$val" ]
	awk -v v="$val" 'BEGIN { exit !(v >= 0 && v <= 1) }'
}

@test "train logs the schedule's lr and momentum for each logged update" {
	make_schedule 40
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --log-every 10 -o log.csv
	[ "$status" -eq 0 ]
	same_double "$(awk -F, '$1 == 19 { print $3 }' log.csv)" "$(csv_field sched.csv lr 19)"
	same_double "$(awk -F, '$1 == 19 { print $4 }' log.csv)" "$(csv_field sched.csv momentum 19)"
	same_double "$(csv_last log.csv lr)" "$(csv_last sched.csv lr)"
}

@test "train uses --momentum when the schedule has no momentum column" {
	awk 'BEGIN { print "iter,lr"; for (i = 0; i < 20; i++) print i ",0.05" }' >lr-only.csv
	run --separate-stderr train "${SMALL[@]}" --schedule lr-only.csv --momentum 0.8 -o log.csv
	[ "$status" -eq 0 ]
	awk -F, 'NR > 1 && $4 + 0 != 0.8 { exit 1 }' log.csv
}

@test "train --summary writes JSON with test_acc in 0..1 and updates equal to the schedule's rows" {
	make_schedule 30
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --summary summary.json
	[ "$status" -eq 0 ]
	rows=$(csv_rows sched.csv)
	jq -e --argjson rows "$rows" '.updates == $rows and
	    .test_acc >= 0 and .test_acc <= 1 and .test_loss > 0 and
	    .samples_per_sec > 0 and .steady_samples_per_sec > 0 and
	    .wall_seconds > 0 and
	    (.config | type) == "object"' summary.json
	assert_header "$TRAIN_HEADER"
}

@test "train --save writes a model file that starts with the magic SCMODEL" {
	make_schedule 20
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --save model.ckpt -q
	[ "$status" -eq 0 ]
	[ "$(head -c 7 model.ckpt)" = SCMODEL ]
	assert_no_temp_files
}

@test "train with the same seed writes the same bytes" {
	make_schedule 30
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --seed 7 --log-every 5 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --seed 7 --log-every 5 -o b.csv
	[ "$status" -eq 0 ]
	cmp a.csv b.csv
}

@test "train with another seed writes another log" {
	make_schedule 30
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --seed 7 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --seed 8 -o b.csv
	[ "$status" -eq 0 ]
	! cmp -s a.csv b.csv
}

@test "train -q says nothing on stderr" {
	make_schedule 20
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv -q
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_header "$TRAIN_HEADER"
}

# --- schedule length ------------------------------------------------------

@test "train refuses --iters that disagrees with the schedule's rows" {
	make_schedule 20
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --iters 30
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q -- '--iters' <<<"$stderr"
	grep -q 'sched.csv' <<<"$stderr"
}

@test "train refuses --epochs that disagrees with the schedule's rows" {
	make_schedule 20
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --epochs 1
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q -- '--epochs' <<<"$stderr"
}

# --- malformed schedules --------------------------------------------------

@test "train reports a missing schedule file by option and name" {
	run --separate-stderr train "${SMALL[@]}" --schedule no-such-schedule.csv
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^train: --schedule: no-such-schedule.csv: ' <<<"$stderr"
}

@test "train reports a missing model description by option and name" {
	run --separate-stderr train --model no-such-model.json \
	    --schedule "$FIXTURES/schedule.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^train: --model: no-such-model.json: ' <<<"$stderr"
}

@test "train names the description file and layer of a kernel that does not fit" {
	printf '{"layers": [{"type": "conv", "filters": 4, "kernel": 30, "pad": 0},
	    {"type": "gap"}, {"type": "dense", "units": 10}]}' >k30.json
	run --separate-stderr train --model k30.json \
	    --schedule "$FIXTURES/schedule.csv"
	[ "$status" -eq 1 ]
	grep -q '^train: k30.json: layer 1: conv: kernel 30 does not fit' \
	    <<<"$stderr"
}

@test "train names the description file and the layer it has no memory for" {
	# 65536 filters on 28 x 28 images, in batches of 60000: 12 TB.
	printf '{"layers": [{"type": "conv", "filters": 65536, "kernel": 3,
	    "pad": 1}, {"type": "gap"}, {"type": "dense", "units": 10}]}' \
	    >huge.json
	run --separate-stderr train --model huge.json --batch 60000 \
	    --schedule "$FIXTURES/schedule.csv" -o out.csv
	[ "$status" -eq 1 ]
	[ ! -e out.csv ]
	grep -q '^train: huge.json: the network needs .* MB for 60000-sample batches, more than this machine.s .* MB: the conv layer with 65536 x 28 x 28 outputs a sample needs' \
	    <<<"$stderr"
}

@test "train --model-info refuses a network whose parameters need more memory than the machine has, before touching it" {
	# 784 x 2^20 + 2^20 x 2^20 weights: 13 TB with their gradients and
	# velocities.
	printf '{"layers": [{"type": "dense", "units": 1048576},
	    {"type": "dense", "units": 1048576}, {"type": "dense",
	    "units": 10}]}' >wide.json
	run --separate-stderr train --model-info --model wide.json
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q '^train: wide.json: the network needs .* MB for 128-sample batches, more than this machine.s .* MB: its 1100[0-9]* parameters need .* MB with their gradients and velocities$' \
	    <<<"$stderr"
}

@test "train names the line of a non-numeric lr in the schedule" {
	run --separate-stderr train "${SMALL[@]}" --schedule "$FIXTURES/bad-schedule-nonnumeric.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'bad-schedule-nonnumeric.csv: line 4: ' <<<"$stderr"
	grep -q "'lr'" <<<"$stderr"
}

@test "train names the line of a ragged schedule row" {
	run --separate-stderr train "${SMALL[@]}" --schedule "$FIXTURES/bad-schedule-ragged.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'bad-schedule-ragged.csv: line 4: ' <<<"$stderr"
}

@test "train names the missing lr column of a schedule" {
	run --separate-stderr train "${SMALL[@]}" --schedule "$FIXTURES/bad-schedule-no-lr.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'missing: lr' <<<"$stderr"
}

@test "train refuses an lr of 0, naming the line" {
	run --separate-stderr train "${SMALL[@]}" --schedule "$FIXTURES/bad-schedule-zero-lr.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'bad-schedule-zero-lr.csv: line 4: ' <<<"$stderr"
}

@test "train refuses a schedule whose iter skips an update, naming the line" {
	run --separate-stderr train "${SMALL[@]}" --schedule "$FIXTURES/bad-schedule-gap.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'bad-schedule-gap.csv: line 4: ' <<<"$stderr"
}

@test "train names the line of a malformed schedule on stdin" {
	run --separate-stderr train "${SMALL[@]}" --schedule - <"$FIXTURES/bad-schedule-nonnumeric.csv"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'line 4' <<<"$stderr"
}

@test "train refuses a schedule with a header and no rows" {
	printf 'iter,lr,momentum\n' >empty.csv
	run --separate-stderr train "${SMALL[@]}" --schedule empty.csv
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -q 'empty.csv' <<<"$stderr"
}

@test "train stops with status 1 when the loss diverges" {
	run --separate-stderr train "${SMALL[@]}" --schedule "$FIXTURES/bad-schedule-diverges.csv" -o log.csv --summary summary.json --save model.ckpt
	[ "$status" -eq 1 ]
	grep -q 'diverged' <<<"$stderr"
	assert_no_file summary.json
	assert_no_file model.ckpt
	assert_no_temp_files
}

# --- usage ----------------------------------------------------------------

@test "train -h prints usage on stdout and exits 0" {
	run --separate-stderr train -h
	[ "$status" -eq 0 ]
	[ "${lines[0]:0:13}" = "usage: train " ]
	[ -z "$stderr" ]
}

@test "train rejects an unknown option with status 2 and usage on stderr" {
	run --separate-stderr train --bogus
	[ "$status" -eq 2 ]
	assert_usage_error
}

@test "train without --schedule is a usage error" {
	run --separate-stderr train "${SMALL[@]}"
	[ "$status" -eq 2 ]
	assert_usage_error
	grep -q -- '--schedule' <<<"$stderr"
}

@test "train rejects a non-numeric --batch" {
	run --separate-stderr train --schedule sched.csv --batch many
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--batch' <<<"$stderr"
}

@test "train refuses a --val-split of 0, 1 or beyond them with one message" {
	for bad in 0 1 -0.1 1.5; do
		run --separate-stderr train --schedule sched.csv --val-split "$bad"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		grep -q -- "^train: --val-split: must be between 0 and 1, 0 and 1 excluded, not $bad\$" <<<"$stderr"
	done
}

@test "train refuses a bad --hidden with status 2 before training" {
	for bad in "--model cnn --hidden 32" "--hidden 0" "--hidden 32," \
	    "--hidden 70000"; do
		run --separate-stderr train --policy 1cycle --max-lr 0.1 \
		    --iters 5 --threads 1 $bad -o log.csv
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		grep -q -- '--hidden' <<<"$stderr"
		assert_no_file log.csv
	done
}

# --- output ----------------------------------------------------------------

@test "train -o FILE writes the file and nothing on stdout" {
	make_schedule 20
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv -o log.csv
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(head -1 log.csv)" = "$TRAIN_HEADER" ]
	assert_numeric_csv log.csv
	assert_no_temp_files
}

@test "train -o keeps an existing file when the schedule is malformed" {
	echo old >log.csv
	run --separate-stderr train "${SMALL[@]}" --schedule "$FIXTURES/bad-schedule-zero-lr.csv" -o log.csv
	[ "$status" -eq 1 ]
	[ "$(cat log.csv)" = old ]
	assert_no_temp_files
}

@test "train -o keeps an existing file when the run diverges" {
	echo old >log.csv
	run --separate-stderr train "${SMALL[@]}" --schedule "$FIXTURES/bad-schedule-diverges.csv" -o log.csv
	[ "$status" -eq 1 ]
	[ "$(cat log.csv)" = old ]
	assert_no_temp_files
}

@test "train reports a failed write to a full disk with status 1" {
	make_schedule 20
	run --separate-stderr bash -c 'train --hidden 32 --batch 64 --threads 1 --schedule sched.csv >/dev/full'
	[ "$status" -eq 1 ]
	grep -q 'write failed' <<<"$stderr"
}

@test "train refuses --momentum when the schedule has a momentum column" {
	make_schedule
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv \
	    --momentum 0.8
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- "--momentum" <<<"$stderr"
}

@test "train uses --momentum for a schedule without a momentum column" {
	printf 'iter,lr\n' >lr-only.csv
	for i in $(seq 0 19); do printf '%d,0.05\n' "$i"; done >>lr-only.csv
	run --separate-stderr train "${SMALL[@]}" --schedule lr-only.csv \
	    --momentum 0.8 --log-every 5 --summary s.json
	[ "$status" -eq 0 ]
	[ "$(csv_last /dev/stdin momentum <<<"$output")" = 0.80000000000000004 ]
	jq -e '.config.momentum == 0.8' s.json
}

@test "train refuses two outputs on one file with status 2, naming both options" {
	make_schedule 20
	echo old >o.csv
	for pair in "-o o.csv --save o.csv" "-o o.csv --summary ./o.csv" \
	    "--checkpoint o.csv -o o.csv" "--save o.csv --checkpoint o.csv" \
	    "--summary new.json --save new.json"; do
		set -- $pair
		run --separate-stderr train "${SMALL[@]}" --schedule sched.csv \
		    "$@"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		grep -q -- "$1 .*$3 .*\(both name\|are the same file\)" \
		    <<<"$stderr" || grep -q -- "$3 .*$1 .*\(both name\|are the same file\)" \
		    <<<"$stderr"
	done
	[ "$(cat o.csv)" = old ]
	assert_no_file new.json
	ln o.csv link.csv
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv \
	    -o o.csv --summary link.csv
	[ "$status" -eq 2 ]
	grep -q -- '-o o.csv and --summary link.csv are the same file' \
	    <<<"$stderr"
	assert_no_temp_files
}

@test "train may send several outputs to /dev/null" {
	make_schedule 20
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv -q \
	    -o /dev/null --summary /dev/null --save /dev/null
	[ "$status" -eq 0 ]
}

@test "train writes its summary to a device such as /dev/null" {
	make_schedule
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv \
	    --summary /dev/null -o /dev/null
	[ "$status" -eq 0 ]
	[ -c /dev/null ]
}

# --- schedules computed by train --policy --------------------------------------

@test "train --policy 1cycle writes the same training CSV as clrgen piped into train" {
	run --separate-stderr bash -c 'clrgen --policy 1cycle --max-lr 0.1 --iters 40 |
	    train --hidden 32 --batch 64 --threads 1 --schedule - -q -o piped.csv'
	[ "$status" -eq 0 ]
	run --separate-stderr train "${SMALL[@]}" --policy 1cycle --max-lr 0.1 --iters 40 -q -o direct.csv
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	cmp piped.csv direct.csv
}

@test "train --policy with --epochs counts the epochs of its data as clrgen --data-size does" {
	run --separate-stderr bash -c 'clrgen --like pytorch --max-lr 0.1 --epochs 1 --data-size 60000 --batch 64 |
	    train --hidden 32 --batch 64 --threads 1 --schedule - -q -o piped.csv'
	[ "$status" -eq 0 ]
	run --separate-stderr train "${SMALL[@]}" --like pytorch --policy 1cycle --max-lr 0.1 --epochs 1 -q -o direct.csv
	[ "$status" -eq 0 ]
	cmp piped.csv direct.csv
	[ "$(csv_last direct.csv iter)" = 937 ]
}

@test "train --policy takes clrgen's momentum options the same way" {
	run --separate-stderr bash -c 'clrgen --policy triangular2 --max-lr 0.1 --step-size 5 --momentum 0.8 --iters 30 |
	    train --hidden 32 --batch 64 --threads 1 --schedule - --log-every 1 -q -o piped.csv'
	[ "$status" -eq 0 ]
	run --separate-stderr train "${SMALL[@]}" --policy triangular2 --max-lr 0.1 --step-size 5 --momentum 0.8 --iters 30 --log-every 1 -q -o direct.csv
	[ "$status" -eq 0 ]
	cmp piped.csv direct.csv
	awk -F, 'NR > 1 && $4 != "0.80000000000000004" { exit 1 }' direct.csv
}

@test "train --policy records in its summary the clrgen options that write its schedule" {
	run --separate-stderr train "${SMALL[@]}" --policy cosine --warmup 5 --max-lr 0.1 --iters 30 --log-every 1 -q -o direct.csv --summary s.json
	[ "$status" -eq 0 ]
	sched=$(jq -r .config.schedule s.json)
	[[ "$sched" == "--policy cosine "* ]]
	run --separate-stderr bash -c "clrgen $sched | train --hidden 32 --batch 64 --threads 1 --schedule - --log-every 1 -q -o piped.csv"
	[ "$status" -eq 0 ]
	cmp piped.csv direct.csv
}

@test "train --policy reads its bounds from --bounds" {
	run --separate-stderr train "${SMALL[@]}" --policy 1cycle --bounds "$FIXTURES/curve-bounds.json" --iters 20 --log-every 1 -q -o log.csv
	[ "$status" -eq 0 ]
	same_double "$(csv_field log.csv lr 0)" 0.025
}

@test "train refuses --policy together with --schedule" {
	make_schedule 20
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --policy 1cycle --max-lr 0.1 --iters 20
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--policy' <<<"$stderr"
}

@test "train refuses a schedule option without --policy, naming it" {
	make_schedule 20
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv --max-lr 0.1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--max-lr' <<<"$stderr"
}

@test "train --policy needs one length, --iters or --epochs" {
	run --separate-stderr train "${SMALL[@]}" --policy 1cycle --max-lr 0.1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--iters' <<<"$stderr"
	run --separate-stderr train "${SMALL[@]}" --policy 1cycle --max-lr 0.1 --iters 938 --epochs 1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--epochs' <<<"$stderr"
}

@test "train --policy refuses what clrgen refuses, before writing anything" {
	echo old >log.csv
	run --separate-stderr train "${SMALL[@]}" --policy triangular --max-lr 0.1 --step-size 5 --pct-start 0.3 --iters 20 -o log.csv
	[ "$status" -eq 2 ]
	grep -q -- '--pct-start' <<<"$stderr"
	run --separate-stderr train "${SMALL[@]}" --policy step --max-lr 0.1 --milestones 30 --iters 20 -o log.csv
	[ "$status" -eq 2 ]
	grep -q -- '--milestones' <<<"$stderr"
	run --separate-stderr train "${SMALL[@]}" --policy 1cycle --iters 20 -o log.csv
	[ "$status" -eq 2 ]
	grep -q -- '--max-lr' <<<"$stderr"
	[ "$(cat log.csv)" = old ]
	assert_no_temp_files
}

@test "train --policy with --epochs refuses a warm-up longer than the run, after sizing the epoch" {
	run --separate-stderr train "${SMALL[@]}" --policy cosine --max-lr 0.1 --warmup 5000 --epochs 1 -o log.csv
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--warmup' <<<"$stderr"
	grep -q '938' <<<"$stderr"
	assert_no_file log.csv
}

@test "train --estimate-lr logs the secant estimate of the optimal LR" {
	make_schedule 60
	run --separate-stderr train "${SMALL[@]}" --schedule sched.csv \
	    --estimate-lr 5
	[ "$status" -eq 0 ]
	assert_header "$TRAIN_HEADER,lr_estimate"
	awk -F, 'END { exit !($9 > 0) }' <<<"$output"
}

@test "train's epoch lines give the run's length in epochs, fractional where it ends within one" {
	# 240 training rows in batches of 16: 15 updates an epoch.
	run --separate-stderr train --data "csv:$FIXTURES/blobs.csv" \
	    --label kind --val-split 0.2 --hidden 16 --batch 16 --threads 1 \
	    --policy 1cycle --max-lr 0.1 --iters 21 -o r.csv
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"train: epoch 1/1.4: test loss "* ]]
	[[ "$stderr" == *"train: epoch 1.4/1.4: test loss "* ]]
}
