#!/usr/bin/env bats
# Outputs named on the command line are complete or absent, whatever
# stops the run.

bats_require_minimum_version 1.5.0
load helper

@test "an interrupted clrgen leaves the old output and no temporary file" {
	echo old >out.csv
	run timeout -s INT 1 clrgen --max-lr 1 --iters 1000000000 -o out.csv
	[ "$status" -eq 124 ]
	[ "$(cat out.csv)" = old ]
	assert_no_temp_files
}

@test "a terminated train leaves the old output and no temporary file" {
	clrgen --max-lr 0.1 --iters 100000 -o sched.csv
	echo old >log.csv
	run timeout -s TERM 3 train "${SMALL[@]}" --schedule sched.csv \
	    -o log.csv
	[ "$status" -eq 124 ]
	[ "$(cat log.csv)" = old ]
	assert_no_temp_files
}

@test "a corrupt gzip'd IDX file is named once in the message" {
	mkdir d
	for f in train-images-idx3-ubyte train-labels-idx1-ubyte \
	    t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
		cp "/usr/share/datasets/fashion-mnist/$f.gz" d/
	done
	printf '\x00\x00\x00\x00' | dd of=d/t10k-labels-idx1-ubyte.gz bs=1 \
	    seek=20 conv=notrunc 2>/dev/null
	clrgen --max-lr 0.1 --iters 10 -o sched.csv
	run --separate-stderr train --data d "${SMALL[@]}" --schedule sched.csv
	[ "$status" -eq 1 ]
	[ "$(grep -o 't10k-labels-idx1-ubyte.gz' <<<"$stderr" | wc -l)" -eq 1 ]
}
