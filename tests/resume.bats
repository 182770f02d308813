#!/usr/bin/env bats
# train: checkpoints, stopping and resuming.  A resumed run must write
# the bytes the uninterrupted run writes: the rows of the stopped run's
# CSV followed by the resumed run's rows (without its header) are the
# uninterrupted run's CSV, and the two final models are the same file.

bats_require_minimum_version 1.5.0
load helper

# A big-endian u32 as four bytes.
be32() {
	printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))"
	printf "\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"
}

# The first $2 items of Fashion-MNIST's IDX file $1 (images when $3 is
# 784 bytes an item, labels when 1) as IDX file $4.
idx_head() {
	local src="/usr/share/datasets/fashion-mnist/$1.gz"

	{
		if [ "$3" -eq 784 ]; then
			printf '\000\000\010\003'
			be32 "$2"
			be32 28
			be32 28
			zcat "$src" | tail -c +17 | head -c $(($2 * 784))
		else
			printf '\000\000\010\001'
			be32 "$2"
			zcat "$src" | tail -c +9 | head -c "$2"
		fi
	} >"$4"
}

# 600 training and 500 test samples of Fashion-MNIST, so that a test
# crosses several epochs (of 10 updates of 64, the last one partial) in
# a fraction of a second.
setup_file() {
	local d="$BATS_FILE_TMPDIR"

	idx_head train-images-idx3-ubyte 600 784 "$d/train-images"
	idx_head train-labels-idx1-ubyte 600 1 "$d/train-labels"
	idx_head t10k-images-idx3-ubyte 500 784 "$d/test-images"
	idx_head t10k-labels-idx1-ubyte 500 1 "$d/test-labels"
}

D="$BATS_FILE_TMPDIR"
TINY_DATA=(--data "idx:$D/train-images,$D/train-labels,$D/test-images,$D/test-labels")
TINY=("${TINY_DATA[@]}" "${SMALL[@]}" -q)

# 1cycle over 45 updates: four and a half epochs.
ONECYCLE=(--policy 1cycle --max-lr 0.1 --iters 45)

# Data rows of CSV file $1 (without its header).
rows() {
	tail -n +2 "$1"
}

# Run the command every 0.02 s until it succeeds, for a minute at most
# (a loaded machine may take that long to start a run).
wait_for() {
	local i

	for i in $(seq 3000); do
		"$@" && return 0
		sleep 0.02
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

# Process $1 has its own handler for SIGINT, by /proc/PID/status.
catches_sigint() {
	local mask

	mask=$(awk '$1 == "SigCgt:" { print $2 }' "/proc/$1/status") || return 1
	[ -n "$mask" ] && (((0x$mask >> 1) & 1))
}

# The update a checkpoint holds, from its header.
ckpt_update() {
	train --checkpoint-info "$1" | jq -r .update
}

# --- exact resume --------------------------------------------------------

@test "a 1cycle run stopped mid-epoch and mid-cycle resumes to the same CSV and model" {
	train "${TINY[@]}" "${ONECYCLE[@]}" -o full.csv --save full.model
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint c.ckpt --stop-after 23 -o a.csv --save a.model
	[ "$status" -eq 0 ]
	[ "$(ckpt_update c.ckpt)" -eq 23 ]
	assert_no_file a.model
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --resume c.ckpt -o b.csv --save b.model
	[ "$status" -eq 0 ]
	cat a.csv <(rows b.csv) | cmp - full.csv
	cmp b.model full.model
}

@test "a triangular schedule from clrgen resumes exactly through two stops, one at an epoch's end" {
	clrgen --policy triangular --max-lr 0.1 --step-size 7 --iters 45 \
	    -o sched.csv
	args=("${TINY[@]}" --schedule sched.csv --log-every 3)
	train "${args[@]}" -o full.csv --save full.model
	run --separate-stderr train "${args[@]}" --checkpoint c.ckpt \
	    --stop-after 17 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr train "${args[@]}" --resume c.ckpt \
	    --checkpoint c.ckpt --stop-after 30 -o b.csv
	[ "$status" -eq 0 ]
	[ "$(ckpt_update c.ckpt)" -eq 30 ]
	run --separate-stderr train "${args[@]}" --resume c.ckpt -o d.csv \
	    --save d.model
	[ "$status" -eq 0 ]
	cat a.csv <(rows b.csv) <(rows d.csv) | cmp - full.csv
	cmp d.model full.model
}

@test "resume carries dropout, augmentation, batch-norm statistics and the LR estimate" {
	cat >net.json <<-'EOF'
	{ "layers": [
	    { "type": "dense", "units": 32 }, { "type": "batchnorm" },
	    { "type": "relu" }, { "type": "dropout", "p": 0.3 },
	    { "type": "dense", "units": 10 } ] }
	EOF
	args=("${TINY_DATA[@]}" --model net.json --batch 64 --threads 1 -q
	    --augment crop:2,flip --estimate-lr 4 --nesterov "${ONECYCLE[@]}")
	train "${args[@]}" -o full.csv --save full.model
	run --separate-stderr train "${args[@]}" --checkpoint c.ckpt \
	    --stop-after 26 -o a.csv
	[ "$status" -eq 0 ]
	run --separate-stderr train "${args[@]}" --resume c.ckpt -o b.csv \
	    --save b.model
	[ "$status" -eq 0 ]
	cat a.csv <(rows b.csv) | cmp - full.csv
	cmp b.model full.model
	# The estimate had started before the stop.
	[ -n "$(csv_last a.csv lr_estimate)" ]
}

@test "--checkpoint-every Ne writes at the end of every Nth epoch and keeps the last" {
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint c.ckpt --checkpoint-every 2e -o /dev/null
	[ "$status" -eq 0 ]
	[ "$(ckpt_update c.ckpt)" -eq 40 ]
	assert_no_temp_files
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint c.ckpt --checkpoint-every 7 --force -o /dev/null
	[ "$status" -eq 0 ]
	[ "$(ckpt_update c.ckpt)" -eq 42 ]
}

# --- signals -------------------------------------------------------------

@test "SIGTERM stops train with a checkpoint and status 143, and the resumed run completes it exactly" {
	args=("${TINY[@]}" --policy 1cycle --max-lr 0.1 --iters 6000)
	train "${args[@]}" -o full.csv --save full.model
	train "${args[@]}" --checkpoint c.ckpt --checkpoint-every 50 \
	    -o a.csv 2>err.txt &
	pid=$!
	# The first checkpoint: the training has started.
	wait_for test -e c.ckpt || { kill "$pid"; wait "$pid"; false; }
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 143 ]
	grep -q 'SIGTERM' err.txt
	grep -q 'c.ckpt' err.txt
	# The CSV holds the rows up to the checkpoint's update.
	done=$(ckpt_update c.ckpt)
	[ "$done" -gt 0 ] && [ "$done" -lt 6000 ]
	[ "$(tail -n 1 a.csv | cut -d, -f1)" -lt "$done" ]
	run --separate-stderr train "${args[@]}" --resume c.ckpt -o b.csv \
	    --save b.model
	[ "$status" -eq 0 ]
	cat a.csv <(rows b.csv) | cmp - full.csv
	cmp b.model full.model
	assert_no_temp_files
}

@test "SIGINT without --checkpoint exits 130, says no checkpoint was written and keeps the old CSV" {
	echo old >log.csv
	# A background job of a script ignores SIGINT unless told otherwise.
	env --default-signal=INT train "${TINY_DATA[@]}" "${SMALL[@]}" \
	    --policy 1cycle --max-lr 0.1 --iters 1000000 -o log.csv \
	    2>err.txt &
	pid=$!
	# The line of the first epoch: the training has started.
	wait_for grep -q 'epoch 1/' err.txt || { kill "$pid"; wait "$pid"; false; }
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 130 ]
	grep -q 'stopped by SIGINT after update [0-9]* of 1000000; no checkpoint written' err.txt
	[ "$(cat log.csv)" = old ]
	assert_no_temp_files
}

@test "SIGINT before training starts exits 130, saying so, and writes nothing" {
	echo old >log.csv
	train "${TINY[@]}" --policy 1cycle --max-lr 0.1 --iters 45 \
	    --checkpoint c.ckpt --stop-after 10 -o /dev/null
	cp c.ckpt before.ckpt
	# The schedule is a FIFO that nobody writes: train waits to read it.
	mkfifo sched.fifo
	env --default-signal=INT train "${TINY[@]}" --schedule sched.fifo \
	    --resume c.ckpt --checkpoint c.ckpt -o log.csv --save m.model \
	    2>err.txt &
	pid=$!
	wait_for catches_sigint "$pid" || { kill "$pid"; wait "$pid"; false; }
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 130 ]
	grep -q '^train: stopped by SIGINT before training started; nothing written$' err.txt
	[ "$(cat log.csv)" = old ]
	cmp c.ckpt before.ckpt
	assert_no_file m.model
	assert_no_temp_files
}

@test "kill -9 at any moment of frequent checkpoint writes leaves a checkpoint that loads" {
	# The 784-512-256-10 network's checkpoints are 4.5 MB, each synced
	# to disk: the kills land in writes as often as between them.
	args=("${TINY_DATA[@]}" --batch 64 --threads 1 -q --policy 1cycle
	    --max-lr 0.05 --iters 120)
	train "${args[@]}" -o /dev/null --save full.model
	for round in 1 2 3 4; do
		from=()
		if [ -e c.ckpt ]; then
			[ "$(ckpt_update c.ckpt)" -lt 120 ] || break
			from=(--resume c.ckpt)
		fi
		train "${args[@]}" "${from[@]}" --checkpoint c.ckpt \
		    --checkpoint-every 1 -o /dev/null 2>/dev/null &
		pid=$!
		wait_for test -e c.ckpt || { kill "$pid"; wait "$pid"; false; }
		sleep "0.$((RANDOM % 4 + 3))"
		# The run may have finished first on a fast machine.
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
		run --separate-stderr train --checkpoint-info c.ckpt
		[ "$status" -eq 0 ]
	done
	# Only hidden temporary files may be left, never a torn c.ckpt.
	[ -z "$(find . -maxdepth 1 -name '*.tmp*' ! -name '.c.ckpt.tmp*')" ]
	if [ "$(ckpt_update c.ckpt)" -lt 120 ]; then
		train "${args[@]}" --resume c.ckpt -o /dev/null --save r.model
		cmp r.model full.model
	fi
}

@test "a NaN loss stops with status 1 naming the update and its lr, and keeps the last good checkpoint" {
	run --separate-stderr train "${TINY[@]}" -o log.csv \
	    --schedule "$FIXTURES/bad-schedule-diverges.csv" \
	    --checkpoint c.ckpt --checkpoint-every 1
	[ "$status" -eq 1 ]
	grep -q 'update [0-9]*: .*lr 1000.*diverged' <<<"$stderr"
	grep -q 'c.ckpt holds update' <<<"$stderr"
	run --separate-stderr train --checkpoint-info c.ckpt
	[ "$status" -eq 0 ]
	assert_no_file log.csv
	assert_no_temp_files
}

# --- refusals ------------------------------------------------------------

@test "resuming with another seed or batch is refused with status 2, naming both; --force resumes" {
	train "${TINY[@]}" "${ONECYCLE[@]}" --checkpoint c.ckpt --stop-after 12 \
	    -o /dev/null
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --resume c.ckpt --seed 7 --batch 32 -o b.csv
	[ "$status" -eq 2 ]
	grep -q 'c.ckpt' <<<"$stderr"
	grep -q 'seed: 1 in the checkpoint, 7 here' <<<"$stderr"
	grep -q 'batch: 64 in the checkpoint, 32 here' <<<"$stderr"
	assert_no_file b.csv
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --resume c.ckpt --seed 7 --force -o b.csv
	[ "$status" -eq 0 ]
	grep -q 'force' <<<"$stderr"
	[ "$(head -n 2 b.csv | tail -n 1 | cut -d, -f1)" -eq 19 ]
}

@test "resuming with another schedule or network is refused with status 2" {
	train "${TINY[@]}" "${ONECYCLE[@]}" --checkpoint c.ckpt --stop-after 12 \
	    -o /dev/null
	run --separate-stderr train "${TINY[@]}" --policy 1cycle --max-lr 0.2 \
	    --iters 45 --resume c.ckpt
	[ "$status" -eq 2 ]
	grep -q 'schedule_crc' <<<"$stderr"
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --hidden 16 --resume c.ckpt
	[ "$status" -eq 2 ]
	grep -q 'hidden' <<<"$stderr"
	[ -z "$output" ]
}

@test "a damaged checkpoint is refused with status 1, naming the file" {
	train "${TINY[@]}" "${ONECYCLE[@]}" --checkpoint c.ckpt --stop-after 12 \
	    -o /dev/null
	printf 'x' | dd of=c.ckpt bs=1 seek=3000 conv=notrunc 2>/dev/null
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" --resume c.ckpt
	[ "$status" -eq 1 ]
	grep -q 'c.ckpt: checksum mismatch' <<<"$stderr"
	head -c 1000 c.ckpt >short.ckpt
	run --separate-stderr train --checkpoint-info short.ckpt
	[ "$status" -eq 1 ]
	grep -q 'short.ckpt: truncated' <<<"$stderr"
}

@test "--checkpoint-info - asks for a file name with status 2" {
	run --separate-stderr train --checkpoint-info - </dev/null
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q -- '--checkpoint-info: needs a file name' <<<"$stderr"
}

@test "a checkpoint of another format version is refused, naming the file and the version" {
	train "${TINY[@]}" "${ONECYCLE[@]}" --checkpoint c.ckpt --stop-after 12 \
	    -o /dev/null
	printf '\002' | dd of=c.ckpt bs=1 seek=8 conv=notrunc 2>/dev/null
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" --resume c.ckpt
	[ "$status" -eq 1 ]
	grep -q 'c.ckpt: format version 2' <<<"$stderr"
}

@test "a model file from --save is refused by --resume: it holds no optimiser state" {
	train "${TINY[@]}" "${ONECYCLE[@]}" --save m.model -o /dev/null
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" --resume m.model
	[ "$status" -eq 1 ]
	grep -q 'm.model: a saved model, not a training checkpoint' <<<"$stderr"
}

@test "a checkpoint at the end of the schedule leaves nothing to resume" {
	train "${TINY[@]}" "${ONECYCLE[@]}" --checkpoint c.ckpt \
	    --checkpoint-every 45 -o /dev/null
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" --resume c.ckpt
	[ "$status" -eq 2 ]
	grep -q 'nothing is left to train' <<<"$stderr"
}

@test "--stop-after and --checkpoint-every need --checkpoint; --force needs --resume or --checkpoint" {
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" --stop-after 5
	[ "$status" -eq 2 ]
	grep -q -- '--stop-after: needs --checkpoint' <<<"$stderr"
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint-every 2e
	[ "$status" -eq 2 ]
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" --force
	[ "$status" -eq 2 ]
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint c.ckpt --checkpoint-every 3x
	[ "$status" -eq 2 ]
	grep -q -- "--checkpoint-every: '3x'" <<<"$stderr"
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" --checkpoint -
	[ "$status" -eq 2 ]
}

@test "a fresh run refuses to replace a checkpoint with status 2 unless --force" {
	train "${TINY[@]}" "${ONECYCLE[@]}" --checkpoint c.ckpt --stop-after 12 \
	    -o /dev/null
	cp c.ckpt before.ckpt
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint c.ckpt --checkpoint-every 5 -o log.csv
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	grep -q 'c.ckpt holds a checkpoint; resume it with --resume c.ckpt, or give --force to start over' <<<"$stderr"
	cmp c.ckpt before.ckpt
	assert_no_file log.csv
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint c.ckpt --checkpoint-every 5 --force -o log.csv
	[ "$status" -eq 0 ]
	[ "$(ckpt_update c.ckpt)" -eq 45 ]
	# A file that is not a checkpoint is replaced as any output is.
	echo notes >n.ckpt
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint n.ckpt --stop-after 5 -o /dev/null
	[ "$status" -eq 0 ]
	[ "$(ckpt_update n.ckpt)" -eq 5 ]
}

@test "a checkpoint in a directory that does not exist fails before training" {
	run --separate-stderr train "${TINY[@]}" "${ONECYCLE[@]}" \
	    --checkpoint nodir/c.ckpt -o log.csv
	[ "$status" -eq 1 ]
	grep -q 'nodir/c.ckpt' <<<"$stderr"
	assert_no_file log.csv
}

# --- the range test ------------------------------------------------------

@test "lrtest --init starts from a checkpoint as from the model file of the same weights" {
	train "${TINY[@]}" "${ONECYCLE[@]}" --checkpoint c.ckpt \
	    --checkpoint-every 45 --save m.model -o /dev/null
	run --separate-stderr lrtest "${TINY[@]}" --init c.ckpt --iters 20 \
	    --max-lr 0.1 --eval-every 0 -o from-ckpt.csv
	[ "$status" -eq 0 ]
	lrtest "${TINY[@]}" --init m.model --iters 20 --max-lr 0.1 \
	    --eval-every 0 -o from-model.csv
	cmp from-ckpt.csv from-model.csv
}

@test "a --checkpoint file that holds a saved model is refused without --force" {
	train "${TINY[@]}" --policy 1cycle --max-lr 0.1 --iters 5 --save m.model -o /dev/null
	cp m.model m.orig
	run --separate-stderr train "${TINY[@]}" --policy 1cycle --max-lr 0.1 --iters 20 \
	    --checkpoint m.model --stop-after 10 -o /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--checkpoint: m.model holds a saved model; give the checkpoint another name, or --force to replace it"* ]]
	cmp m.model m.orig
	run --separate-stderr train "${TINY[@]}" --policy 1cycle --max-lr 0.1 --iters 20 \
	    --checkpoint m.model --stop-after 10 --force -o /dev/null
	[ "$status" -eq 0 ]
	! cmp -s m.model m.orig
}
