#!/usr/bin/env bats
# The data forms and networks that train and lrtest accept: CSV tables,
# CIFAR-10 binary batches, IDX pairs, augmentation, presets and model
# description files.

bats_require_minimum_version 1.5.0
load helper

# A CIFAR-10 batch file $1 of $2 records with labels 0..9 in turn and
# seeded random pixels ($3, default 1).
make_cifar_batch() {
	perl -e '
		my ($n, $seed) = @ARGV; srand($seed);
		for my $i (0 .. $n - 1) {
			print pack("C", $i % 10);
			print pack("C*", map { int(rand(256)) } 1 .. 3072);
		}' "$2" "${3:-1}" >"$1"
}

make_cifar_dir() {
	mkdir -p cifar
	make_cifar_batch cifar/data_batch_1.bin 200 1
	make_cifar_batch cifar/data_batch_2.bin 56 2
	make_cifar_batch cifar/test_batch.bin 100 3
}

tiny_schedule() {
	clrgen --max-lr 0.05 --iters "${1:-6}" -o sched.csv
}

@test "a CSV table with a named label column trains an mlp to high accuracy" {
	clrgen --max-lr 0.1 --epochs 20 --data-size 240 --batch 16 -o s.csv
	run --separate-stderr train --data "csv:$FIXTURES/blobs.csv" \
	    --label kind --val-split 0.2 --hidden 16 --batch 16 --threads 1 \
	    --schedule s.csv --summary summary.json -q
	[ "$status" -eq 0 ]
	jq -e '.test_acc >= 0.9' summary.json
	jq -e '.config.label == "kind" and .config.val_split == 0.2' \
	    summary.json
}

@test "a CSV table without --val-split is refused: it has no test set" {
	tiny_schedule
	run --separate-stderr train --data "csv:$FIXTURES/blobs.csv" \
	    --label kind --schedule sched.csv
	[ "$status" -eq 2 ]
	grep -q -- "--val-split" <<<"$stderr"
}

@test "a CSV table without the label column names the column" {
	tiny_schedule
	run --separate-stderr train --data "csv:$FIXTURES/blobs.csv" \
	    --val-split 0.2 --schedule sched.csv
	[ "$status" -eq 1 ]
	grep -q "no label column 'label'" <<<"$stderr"
}

@test "a non-numeric feature in a CSV table names the line and column" {
	head -5 "$FIXTURES/blobs.csv" >t.csv
	sed -i '4s/^[^,]*,/oops,/' t.csv
	tiny_schedule
	run --separate-stderr train --data csv:t.csv --label kind \
	    --val-split 0.5 --schedule sched.csv --batch 1
	[ "$status" -eq 1 ]
	grep -q "t.csv: line 4: column 'width'" <<<"$stderr"
}

@test "augmentation is refused for a table" {
	tiny_schedule
	run --separate-stderr train --data "csv:$FIXTURES/blobs.csv" \
	    --label kind --val-split 0.2 --augment flip --schedule sched.csv
	[ "$status" -eq 2 ]
	grep -q -- "--augment" <<<"$stderr"
}

@test "a CIFAR-10 directory loads as 32x32 colour images" {
	make_cifar_dir
	run --separate-stderr train --model-info --model resnet8 \
	    --data cifar10:cifar
	[ "$status" -eq 0 ]
	grep -q "input .* 3,  32,  32" <<<"$output"
	grep -q "^78074 parameters\|parameters" <<<"$output"
}

@test "resnet8 trains a few updates on a CIFAR-10 directory with augmentation" {
	make_cifar_dir
	tiny_schedule 4
	run --separate-stderr train --model resnet8 --data cifar10:cifar \
	    --batch 32 --threads 1 --augment crop:4,flip --schedule sched.csv \
	    --summary summary.json -q
	[ "$status" -eq 0 ]
	assert_numeric_output
	jq -e '.updates == 4 and .config.augment == "crop:4,flip"' \
	    summary.json
}

@test "lrtest runs on a CIFAR-10 directory with the cnn" {
	make_cifar_dir
	run --separate-stderr lrtest --model cnn --data cifar10:cifar \
	    --batch 32 --threads 1 --iters 5 --eval-every 2 --eval-size 20 -q
	[ "$status" -eq 0 ]
	assert_numeric_output
	[ "${#lines[@]}" -eq 6 ]
}

@test "a truncated CIFAR-10 batch file is refused, naming the file" {
	make_cifar_dir
	head -c -1 cifar/data_batch_2.bin >cut && mv cut cifar/data_batch_2.bin
	tiny_schedule
	run --separate-stderr train --model cnn --data cifar10:cifar \
	    --schedule sched.csv -o out.csv
	[ "$status" -eq 1 ]
	grep -q "data_batch_2.bin: .* truncated" <<<"$stderr"
	[ ! -e out.csv ]
}

@test "a CIFAR-10 record with a label past 9 is refused" {
	make_cifar_dir
	printf '\x0c' | dd of=cifar/test_batch.bin bs=1 seek=3073 \
	    conv=notrunc 2>/dev/null
	tiny_schedule
	run --separate-stderr train --model cnn --data cifar10:cifar \
	    --schedule sched.csv
	[ "$status" -eq 1 ]
	grep -q "test_batch.bin: record 1 has label 12" <<<"$stderr"
}

@test "an IDX image and label pair trains with a held-out split" {
	d=/usr/share/datasets/fashion-mnist
	tiny_schedule
	run --separate-stderr train \
	    --data "idx:$d/t10k-images-idx3-ubyte.gz,$d/t10k-labels-idx1-ubyte.gz" \
	    --val-split 0.1 "${SMALL[@]}" --schedule sched.csv \
	    --summary summary.json
	[ "$status" -eq 0 ]
	jq -e '.updates == 6' summary.json
}

@test "an unknown --augment part is a usage error" {
	tiny_schedule
	run --separate-stderr train --augment crop:4,rotate \
	    --schedule sched.csv
	[ "$status" -eq 2 ]
	grep -q -- "--augment: 'rotate'" <<<"$stderr"
}

@test "every preset builds on Fashion-MNIST" {
	for m in mlp lenet cnn resnet8 resnet20 resnet56; do
		run --separate-stderr train --model-info --model "$m"
		[ "$status" -eq 0 ]
		grep -q "^[0-9]* parameters" <<<"$output"
	done
}

@test "a description file with a projection residual block builds and trains" {
	run --separate-stderr train --model-info \
	    --model "$FIXTURES/resblock.json"
	[ "$status" -eq 0 ]
	grep -q " add " <<<"$output"
	tiny_schedule 6
	run --separate-stderr train --model "$FIXTURES/resblock.json" \
	    --batch 16 --threads 1 --schedule sched.csv -q
	[ "$status" -eq 0 ]
	assert_numeric_output
}

@test "a stride-2 residual block joins an odd-sized input, both shortcuts" {
	run --separate-stderr train --model-info \
	    --model "$FIXTURES/oddres.json"
	[ "$status" -eq 0 ]
	grep -q "padcut .* 16, *4, *4" <<<"$output"
	grep -q "add .* 24, *2, *2" <<<"$output"
	tiny_schedule 6
	run --separate-stderr train --model "$FIXTURES/oddres.json" \
	    --batch 16 --threads 1 --schedule sched.csv -q
	[ "$status" -eq 0 ]
	assert_numeric_output
}

@test "--model-info names the network's input among an addition's sources" {
	printf '{"layers":[{"type":"residual","layers":[{"type":"conv","filters":1,"kernel":3}]},{"type":"gap"},{"type":"dense","units":10}]}' \
	    >r0.json
	run --separate-stderr train --model-info --model r0.json
	[ "$status" -eq 0 ]
	grep -q " add  *0+input " <<<"$output"
}

@test "a description file that is not JSON is named with the line where reading stopped" {
	printf '{"layers":[\n {"type":"gap"},\n {"type": "dense" ,}\n]}\n' \
	    >syntax.json
	run --separate-stderr train --model-info --model syntax.json
	[ "$status" -eq 1 ]
	grep -q "syntax.json: line 3: not valid JSON" <<<"$stderr"
	printf '{"layers":[{"type":"gap"},{"type":"dense","units":10}]} x\n' \
	    >trailing.json
	run --separate-stderr train --model-info --model trailing.json
	[ "$status" -eq 1 ]
	grep -q "trailing.json: line 1: not valid JSON" <<<"$stderr"
	awk 'BEGIN { s = "{\"layers\": "; for (i = 0; i < 20000; i++) s = s "[";
		for (i = 0; i < 20000; i++) s = s "]"; print s "}" }' >deep.json
	run --separate-stderr train --model-info --model deep.json
	[ "$status" -eq 1 ]
	grep -q "deep.json: line 1: arrays and objects nested more than 1000 deep" <<<"$stderr"
}

@test "a fault inside a residual block names the block and the body's layer" {
	printf '{"layers":[{"type":"residual","layers":[{"type":"conv","filters":1},{"type":"conv","filters":1,"kernel":"x"}]},{"type":"gap"},{"type":"dense","units":10}]}' \
	    >nested.json
	run --separate-stderr train --model-info --model nested.json
	[ "$status" -eq 1 ]
	grep -q "nested.json: layer 1: body layer 2: \"kernel\"" <<<"$stderr"
}

@test "a description file's faults name the file and the layer" {
	printf '{"layers":[{"type":"conv","filters":4},{"type":"wobble"}]}' \
	    >bad.json
	run --separate-stderr train --model-info --model bad.json
	[ "$status" -eq 1 ]
	grep -q "bad.json: layer 2: unknown layer type \"wobble\"" <<<"$stderr"
	printf '{"layers":[{"type":"dense","units":7}]}' >short.json
	run --separate-stderr train --model-info --model short.json
	[ "$status" -eq 1 ]
	grep -q "short.json: the last layer gives 7 outputs" <<<"$stderr"
}

# The description $1, written to the file $2, is refused (status 1)
# with $3 on stderr.
description_refused() {
	printf '%s' "$1" >"$2"
	run --separate-stderr train --model-info --model "$2"
	[ "$status" -eq 1 ] || return 1
	grep -qF -- "$3" <<<"$stderr"
}

@test "a member a layer or the description does not take is refused, naming the ones it takes" {
	description_refused \
	    '{"layers":[{"type":"conv","filters":4,"strides":2},{"type":"gap"},{"type":"dense","units":10}]}' \
	    typo.json 'typo.json: layer 1: a conv layer takes no member "strides" (it takes: filters kernel stride pad bias)'
	description_refused \
	    '{"layers":[{"type":"residual","layers":[{"type":"relu","inplace":true}]},{"type":"gap"},{"type":"dense","units":10}]}' \
	    body.json 'body.json: layer 1: body layer 1: a relu layer takes no member "inplace" (only "type")'
	description_refused '{"name":"mine","layers":[{"type":"dense","units":10}]}' \
	    top.json 'top.json: a description takes no member "name" (it takes: layers)'
}
