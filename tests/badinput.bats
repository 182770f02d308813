#!/usr/bin/env bats
# Bad inputs and outputs that cannot be written, one row each: the exit
# status, a message that names the file and the line or field at fault,
# and no output left behind (neither the -o target nor a hidden
# .NAME.tmp* file; a file that was there stays byte for byte).

bats_require_minimum_version 1.5.0
load helper

DATASET=/usr/share/datasets/fashion-mnist
TINY=(--hidden 8 --batch 10 --threads 1 -q)

# The first $3 images (or labels, $1 = labels) of Fashion-MNIST's test
# set as a plain IDX file $2 whose header gives that count.
make_idx() {
	python3 - "$@" <<-'EOF'
		import gzip, sys
		kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
		d = "/usr/share/datasets/fashion-mnist/"
		name, head, size = ("t10k-images-idx3-ubyte.gz", 16, 784) \
		    if kind == "images" else ("t10k-labels-idx1-ubyte.gz", 8, 1)
		raw = gzip.open(d + name).read(head + n * size)
		out = raw[:4] + n.to_bytes(4, "big") + raw[8:head] + raw[head:]
		open(path, "wb").write(out)
	EOF
}

# img and lbl: 100 images and their labels.
idx_pair() {
	make_idx images img 100
	make_idx labels lbl 100
}

# d/: the four files of the MNIST layout under Fashion-MNIST's names,
# gzip'd, 100 training and 50 test images.
idx_dir() {
	mkdir -p d
	make_idx images d/train-images-idx3-ubyte 100
	make_idx labels d/train-labels-idx1-ubyte 100
	make_idx images d/t10k-images-idx3-ubyte 50
	make_idx labels d/t10k-labels-idx1-ubyte 50
	gzip d/*
}

schedule() {
	clrgen --max-lr 0.05 --iters "${1:-4}" -o s.csv
}

# Write byte string $2 (printf escapes) into file $1 at offset $3.
poke() {
	printf "$2" | dd of="$1" bs=1 seek="$3" conv=notrunc 2>/dev/null
}

# The run failed with status $1 and each further argument is a pattern
# found in its stderr; stdout held nothing and no output was left: no
# out.* file and no temporary file.
assert_refused() {
	local want=$1 p

	shift
	if [ "$status" -ne "$want" ]; then
		echo "status $status, expected $want; stderr: $stderr" >&2
		return 1
	fi
	for p in "$@"; do
		grep -q -e "$p" <<<"$stderr" || {
			echo "stderr lacks '$p': $stderr" >&2
			return 1
		}
	done
	[ -z "$output" ] || { echo "stdout not empty: $output" >&2; return 1; }
	for p in out.*; do
		assert_no_file "$p" || return 1
	done
	assert_no_temp_files .
}

# --- gzip and IDX ---------------------------------------------------------

@test "bad input: truncated gzip -> 1, names file" {
	idx_dir
	f=d/train-images-idx3-ubyte.gz
	head -c 20000 "$f" >cut && mv cut "$f"
	schedule
	run --separate-stderr train --data d "${TINY[@]}" --schedule s.csv \
	    -o out.csv
	assert_refused 1 "$f: truncated"
}

@test "bad input: gzip with a bad CRC -> 1, names file" {
	idx_dir
	f=d/t10k-labels-idx1-ubyte.gz
	poke "$f" '\xde\xad\xbe\xef' $(($(stat -c %s "$f") - 8))
	schedule
	run --separate-stderr train --data d "${TINY[@]}" --schedule s.csv \
	    -o out.csv
	assert_refused 1 "$f: incorrect data check"
}

@test "bad input: gzip header then garbage -> 1, names file" {
	idx_pair
	gzip -c img | head -c 30 >img.gz
	head -c 4000 /dev/urandom >>img.gz
	schedule
	run --separate-stderr train --data idx:img.gz,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "img.gz: "
}

@test "bad input: IDX with the wrong magic -> 1, names file and magic" {
	idx_pair
	poke img '\x00\x00\x08\x01' 0
	schedule
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "img: not an IDX file .*magic 00000801"
}

@test "bad input: truncated IDX -> 1, names file" {
	idx_pair
	head -c 5000 img >cut && mv cut img
	schedule
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "img: truncated: file ends inside the data"
}

@test "bad input: IDX header cut short -> 1, names file" {
	idx_pair
	head -c 6 lbl >cut && mv cut lbl
	schedule
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "lbl: truncated: file ends inside the header"
}

@test "bad input: IDX with bytes past its data -> 1, names file" {
	idx_pair
	printf 'x' >>lbl
	schedule
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "lbl: data past the 100 bytes"
}

@test "bad input: IDX with a zero dimension -> 1, names file and dimension" {
	idx_pair
	poke img '\x00\x00\x00\x00' 8
	schedule
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "img: dimension 2 is 0"
}

@test "bad input: label out of range -> 1, names file and item" {
	idx_dir
	gunzip d/train-labels-idx1-ubyte.gz
	poke d/train-labels-idx1-ubyte '\x0c' 50
	schedule
	run --separate-stderr train --data d "${TINY[@]}" --schedule s.csv \
	    -o out.csv
	assert_refused 1 \
	    "d/train-labels-idx1-ubyte: label 12 of item 42 is outside 0..9"
}

@test "bad input: image and label counts differ -> 1, names both files" {
	idx_pair
	make_idx labels lbl 90
	schedule
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "lbl: 90 labels for the 100 images of img"
}

@test "bad input: test images of another size -> 1, names file" {
	idx_pair
	make_idx images timg 10
	make_idx labels tlbl 10
	poke timg '\x00\x00\x00\x0e' 8
	schedule
	run --separate-stderr train --data idx:img,lbl,timg,tlbl \
	    "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "timg: "
}

# --- CSV: the range CSV (lrsuggest) ---------------------------------------

@test "bad input: empty range CSV -> 1, names file" {
	: >r.csv
	run --separate-stderr lrsuggest r.csv -o out.json
	assert_refused 1 "r.csv: empty: no header row"
}

@test "bad input: range CSV without a header -> 1, names file and line" {
	cut -d, -f1-5 "$FIXTURES/range.csv" | tail -n +3 >r.csv
	run --separate-stderr lrsuggest r.csv -o out.json
	assert_refused 1 "r.csv: line 1: .*missing: lr, loss"
}

@test "bad input: ragged range CSV -> 1, names file and line" {
	sed '7s/,[^,]*$//' "$FIXTURES/range.csv" >r.csv
	run --separate-stderr lrsuggest r.csv -o out.json
	assert_refused 1 "r.csv: line 7: 6 fields where the header has 7"
}

@test "bad input: non-numeric range CSV cell -> 1, names file, line, column" {
	sed '9s/^\([^,]*\),[^,]*,/\1,fast,/' "$FIXTURES/range.csv" >r.csv
	run --separate-stderr lrsuggest r.csv -o out.json
	assert_refused 1 "r.csv: line 9: column 'lr': not a number: 'fast'"
}

@test "bad input: unclosed quote in a range CSV -> 1, names file and line" {
	sed '5s/^/"/' "$FIXTURES/range.csv" >r.csv
	run --separate-stderr lrsuggest r.csv -o out.json
	assert_refused 1 "r.csv: line 5: a quoted field .* not closed"
}

@test "accepted: range CSV with a UTF-8 BOM and CRLF line ends" {
	{ printf '\xef\xbb\xbf'; sed 's/$/\r/' "$FIXTURES/range.csv"; } >r.csv
	lrsuggest "$FIXTURES/range.csv" -o plain.json
	run --separate-stderr lrsuggest r.csv -o bom.json
	[ "$status" -eq 0 ]
	cmp plain.json bom.json
}

# --- CSV: the schedule (train --schedule) ---------------------------------

@test "bad input: empty schedule CSV -> 1, names file" {
	: >s.csv
	run --separate-stderr train "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "s.csv: empty: no header row"
}

@test "bad input: schedule CSV without a header -> 1, names file and line" {
	schedule
	sed -i 1d s.csv
	run --separate-stderr train "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "s.csv: line 1: a schedule needs the columns iter and lr"
}

@test "bad input: ragged schedule CSV -> 1, names file and line" {
	schedule
	sed -i '3s/$/,0.5/' s.csv
	run --separate-stderr train "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "s.csv: line 3: 4 fields where the header has 3"
}

@test "bad input: non-numeric schedule CSV cell -> 1, names file, line, column" {
	schedule
	sed -i '4s/,[^,]*$/,high/' s.csv
	run --separate-stderr train "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "s.csv: line 4: column 'momentum': not a number: 'high'"
}

@test "accepted: schedule CSV with a UTF-8 BOM and CRLF line ends" {
	idx_pair
	schedule
	{ printf '\xef\xbb\xbf'; sed 's/$/\r/' s.csv; } >bom.csv
	train --data idx:img,lbl --val-split 0.2 "${TINY[@]}" \
	    --schedule s.csv -o plain.csv
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule bom.csv -o bom-log.csv
	[ "$status" -eq 0 ]
	cmp plain.csv bom-log.csv
}

# --- CSV: a table (--data csv:) -------------------------------------------

@test "bad input: empty data CSV -> 1, names file" {
	: >t.csv
	schedule
	run --separate-stderr train --data csv:t.csv --label kind \
	    --val-split 0.2 "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "t.csv: empty: no header row"
}

@test "bad input: data CSV without a header -> 1, names file and line" {
	tail -n +2 "$FIXTURES/blobs.csv" >t.csv
	schedule
	run --separate-stderr train --data csv:t.csv --label kind \
	    --val-split 0.2 "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "t.csv: line 1: no label column 'kind'"
}

@test "bad input: ragged data CSV -> 1, names file and line" {
	sed '12s/^[^,]*,//' "$FIXTURES/blobs.csv" >t.csv
	schedule
	run --separate-stderr train --data csv:t.csv --label kind \
	    --val-split 0.2 "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "t.csv: line 12: 4 fields where the header has 5"
}

@test "bad input: non-numeric data CSV cell -> 1, names file, line, column" {
	sed '20s/,[^,]*,\([^,]*\)$/,heavy,\1/' "$FIXTURES/blobs.csv" >t.csv
	schedule
	run --separate-stderr train --data csv:t.csv --label kind \
	    --val-split 0.2 "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "t.csv: line 20: column 'weight': not a number: 'heavy'"
}

@test "accepted: data CSV with a UTF-8 BOM and CRLF line ends" {
	{ printf '\xef\xbb\xbf'; sed 's/$/\r/' "$FIXTURES/blobs.csv"; } >bom.csv
	schedule
	train --data "csv:$FIXTURES/blobs.csv" --label kind --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv -o plain.csv --summary plain.json
	run --separate-stderr train --data csv:bom.csv --label kind \
	    --val-split 0.2 "${TINY[@]}" --schedule s.csv -o bom-log.csv \
	    --summary bom.json
	[ "$status" -eq 0 ]
	cmp plain.csv bom-log.csv
	[ "$(jq .test_acc plain.json)" = "$(jq .test_acc bom.json)" ]
}

# --- bounds JSON (clrgen --bounds) ----------------------------------------

@test "bad input: malformed bounds JSON -> 1, names file and line" {
	printf '{\n  "min_lr": 0.01,\n  "max_lr": ,\n}\n' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: line 3: not valid JSON"
}

@test "bad input: bounds JSON with text after the object -> 1, names file and line" {
	printf '{"max_lr": 0.1}\n{"max_lr": 0.2}\n' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: line 2: not valid JSON"
}

@test "bad input: bounds JSON nested deeper than the reader takes -> 1, says so" {
	awk 'BEGIN { s = "{\"max_lr\": "; for (i = 0; i < 2000; i++) s = s "[";
		for (i = 0; i < 2000; i++) s = s "]"; print s "}" }' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: line 1: arrays and objects nested more than 1000 deep"
}

@test "bad input: empty bounds JSON -> 1, names file" {
	printf '\n' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: empty"
}

@test "bad input: bounds JSON lacking max_lr -> 1, names file and field" {
	printf '{"min_lr": 0.01, "method": "peak"}' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: no field 'max_lr'"
}

@test "bad input: bounds JSON with a string max_lr -> 1, names file and field" {
	printf '{"min_lr": 0.01, "max_lr": "0.1"}' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: field 'max_lr' is not a number"
}

@test "bad input: bounds JSON with an array min_lr -> 1, names file and field" {
	printf '{"min_lr": [0.01], "max_lr": 0.1}' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: field 'min_lr' is not a number"
}

@test "bad input: bounds JSON that is an array -> 1, names file" {
	printf '[0.01, 0.1]' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: expected a JSON object"
}

@test "bad input: bounds JSON with max_lr below 0 -> 1, names file and field" {
	printf '{"max_lr": -0.5}' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o out.csv
	assert_refused 1 "b.json: field 'max_lr' must be > 0"
}

# --- schedule values and length -------------------------------------------

@test "bad input: schedule with a negative LR -> 1, names file and line" {
	schedule
	sed -i '3s/^\([^,]*\),/\1,-/' s.csv
	run --separate-stderr train "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "s.csv: line 3: lr must be > 0 and finite"
}

@test "bad input: schedule with a NaN LR -> 1, names file and line" {
	schedule
	sed -i '5s/^\([^,]*\),[^,]*,/\1,nan,/' s.csv
	run --separate-stderr train "${TINY[@]}" --schedule s.csv -o out.csv
	assert_refused 1 "s.csv: line 5: lr must be > 0 and finite, not nan"
}

@test "bad input: schedule shorter than --iters -> 1, names option and file" {
	idx_pair
	schedule 4
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv --iters 10 -o out.csv
	assert_refused 1 "--iters: 10 updates asked for, the schedule s.csv has 4 rows"
}

@test "bad input: schedule shorter than --epochs -> 1, names option and file" {
	idx_pair
	schedule 4
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv --epochs 2 -o out.csv
	assert_refused 1 "--epochs: 2 epochs of 8 updates is 16 updates, the schedule s.csv has 4 rows"
}

# --- model files (lrtest --init) ------------------------------------------

# m.model: an mlp trained for a few updates on img/lbl.
saved_model() {
	idx_pair
	schedule
	train --data idx:img,lbl --val-split 0.2 "${TINY[@]}" \
	    --schedule s.csv --save m.model -o /dev/null
}

lrtest_init() {
	run --separate-stderr lrtest --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --iters 3 --init "$1" -o out.csv
}

@test "bad input: model file with a bad CRC -> 1, names file" {
	saved_model
	poke m.model '\x55' 300
	lrtest_init m.model
	assert_refused 1 "m.model: checksum mismatch"
}

@test "bad input: model file of another version -> 1, names file and version" {
	saved_model
	poke m.model '\x02' 8
	lrtest_init m.model
	assert_refused 1 "m.model: format version 2, this build reads version 1"
}

@test "bad input: truncated model file -> 1, names file" {
	saved_model
	head -c 200 m.model >cut && mv cut m.model
	lrtest_init m.model
	assert_refused 1 "m.model: truncated"
}

@test "bad input: a schedule given as a model file -> 1, names file" {
	saved_model
	lrtest_init s.csv
	assert_refused 1 "s.csv: not a superconv model or checkpoint"
}

@test "bad input: another network's model file -> 1, names both networks" {
	saved_model
	run --separate-stderr lrtest --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --hidden 24 --iters 3 --init m.model -o out.csv
	assert_refused 1 "m.model: holds [0-9]* parameters, the model has [0-9]* (written for mlp [0-9-]*; this one is mlp [0-9]*-24-[0-9]*)"
}

# --- outputs that cannot be written ---------------------------------------

# keep.csv: a file whose bytes must survive a failed run.
keep_file() {
	printf 'iter,lr,momentum\n0,0.5,0.9\n' >keep.csv
	cp keep.csv keep.orig
}

@test "bad output: clrgen -o /dev/full -> 1, names the device" {
	run --separate-stderr clrgen --max-lr 1 --iters 1000 -o /dev/full
	assert_refused 1 "/dev/full: write failed: No space left on device"
}

@test "bad output: lrsuggest to a full standard output -> 1" {
	run --separate-stderr bash -c \
	    'lrsuggest "$1" >/dev/full' _ "$FIXTURES/range.csv"
	assert_refused 1 "<stdout>: write failed: No space left on device"
}

@test "bad output: a directory that does not exist -> 1, names the path" {
	run --separate-stderr clrgen --max-lr 1 --iters 10 -o nodir/out.csv
	assert_refused 1 "nodir/out.csv: cannot create: No such file or directory"
	assert_no_file nodir
}

@test "bad output: a path under a regular file -> 1, names the path" {
	: >file
	run --separate-stderr lrsuggest "$FIXTURES/range.csv" -o file/out.json
	assert_refused 1 "file/out.json: cannot create: Not a directory"
	[ ! -s file ]
}

@test "bad output: a path in /proc -> 1, names the path" {
	run --separate-stderr clrgen --max-lr 1 --iters 10 \
	    -o /proc/self/out.csv
	assert_refused 1 "/proc/self/out.csv: cannot create"
}

@test "bad output: clrgen into a closed pipe stops at once -> 1" {
	run --separate-stderr timeout 20 bash -c \
	    'clrgen --max-lr 1 --iters 10000000 | head -1 >/dev/null
	    exit "${PIPESTATUS[0]}"'
	[ "$status" -eq 1 ]
	grep -q "^clrgen: <stdout>: write failed: Broken pipe" <<<"$stderr"
	assert_no_temp_files .
}

@test "bad output: train into a closed pipe stops -> 1" {
	idx_pair
	# More rows than a pipe holds (64 KiB), so that some are written
	# after head has gone, however fast training runs.
	schedule 5000
	run --separate-stderr timeout 20 bash -c \
	    'train --data idx:img,lbl --val-split 0.2 --hidden 8 --batch 10 \
	        --threads 1 -q --schedule s.csv --log-every 1 | head -1 \
	        >/dev/null
	    exit "${PIPESTATUS[0]}"'
	[ "$status" -eq 1 ]
	grep -q "^train: <stdout>: write failed: Broken pipe" <<<"$stderr"
}

@test "bad output: clrgen leaves an existing file untouched when the bounds are bad -> 1" {
	keep_file
	printf '{"max_lr": }' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o keep.csv
	assert_refused 1 "b.json: line 1"
	cmp keep.csv keep.orig
}

@test "bad output: lrtest leaves an existing file untouched when --init is damaged -> 1" {
	saved_model
	poke m.model '\x55' 300
	keep_file
	run --separate-stderr lrtest --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --iters 3 --init m.model -o keep.csv
	assert_refused 1 "m.model: checksum mismatch"
	cmp keep.csv keep.orig
}

@test "bad output: train --save to an unwritable path fails before training, log untouched -> 1" {
	idx_pair
	schedule
	keep_file
	: >file
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv --save file/m.model \
	    --summary out.json -o keep.csv
	assert_refused 1 "file/m.model: cannot create: Not a directory"
	cmp keep.csv keep.orig
}

@test "bad output: train --save /dev/full -> 1, log and summary not written" {
	idx_pair
	schedule
	keep_file
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv --save /dev/full \
	    --summary out.json -o keep.csv
	assert_refused 1 "/dev/full: write failed"
	cmp keep.csv keep.orig
}

@test "bad output: train --summary /dev/full -> 1, log untouched" {
	idx_pair
	schedule
	keep_file
	run --separate-stderr train --data idx:img,lbl --val-split 0.2 \
	    "${TINY[@]}" --schedule s.csv --summary /dev/full -o keep.csv
	assert_refused 1 "/dev/full: write failed"
	cmp keep.csv keep.orig
}

@test "bad option: an empty value is refused at once, naming the option -> 2" {
	run --separate-stderr train --policy 1cycle --max-lr 0.1 --iters 20 --save ''
	assert_refused 2 "train: --save: an empty value"
	run --separate-stderr clrgen --max-lr 0.1 --iters 10 -o ''
	assert_refused 2 "clrgen: -o: an empty value"
	run --separate-stderr lrtest --iters 20 --init ''
	assert_refused 2 "lrtest: --init: an empty value"
	run --separate-stderr lrsuggest "$FIXTURES/range.csv" --method ''
	assert_refused 2 "lrsuggest: --method: an empty value"
	run --separate-stderr lrsuggest ''
	assert_refused 2 "lrsuggest: an empty file name for the range CSV"
}

@test "bad output: an output that is one of the tool's inputs is refused before it is touched -> 2" {
	printf 'iter,lr,momentum\n0,0.5,0.9\n1,0.4,0.9\n' >s.csv
	cp s.csv s.orig
	run --separate-stderr train --schedule s.csv -o s.csv
	assert_refused 2 "train: -o s.csv: it is also the file of --schedule, which writing would replace"
	cmp s.csv s.orig
	run --separate-stderr train --schedule s.csv --summary ./s.csv
	assert_refused 2 "train: --summary ./s.csv: it is also the file of --schedule"
	cp "$FIXTURES/range.csv" r.csv
	run --separate-stderr lrsuggest r.csv -o r.csv
	assert_refused 2 "lrsuggest: -o r.csv: it is also the range CSV, which writing would replace"
	cmp r.csv "$FIXTURES/range.csv"
	cp "$FIXTURES/bounds.json" b.json
	run --separate-stderr clrgen --bounds b.json --iters 10 -o b.json
	assert_refused 2 "clrgen: -o b.json: it is also the file of --bounds"
	cmp b.json "$FIXTURES/bounds.json"
}

@test "bad option: a value below the smallest normal double is named as such, in an option or a bounds file" {
	run --separate-stderr clrgen --min-lr 1e-320 --max-lr 0.1 --iters 10
	assert_refused 2 "clrgen: --min-lr: '1e-320' is too close to 0"
	printf '{"max_lr": 1e-320}\n' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10
	assert_refused 1 "clrgen: b.json: field 'max_lr' is .*, too small to compute with"
	run --separate-stderr lrtest --stop-factor 1
	assert_refused 2 "lrtest: --stop-factor: must be above 1 and at most 1e12, not 1"
	printf '{"layers":[{"type":"conv","filters":4,"bias":"yes"},{"type":"gap"},{"type":"dense","units":10}]}' >m.json
	run --separate-stderr train --model-info --model m.json
	assert_refused 1 "m.json: layer 1: \"bias\" must be true or false (or 1 or 0)"
}

@test "bad option: train with two readers of standard input -> 2, naming both" {
	run --separate-stderr train --data csv:- --schedule - </dev/null
	assert_refused 2 "train: --schedule and --data both read standard input"
}

@test "bad option: --augment naming flip or crop twice -> 2" {
	run --separate-stderr train --augment crop:4,flip,flip --policy 1cycle --max-lr 0.1 --iters 3
	assert_refused 2 "train: --augment: flip given twice"
	run --separate-stderr train --augment crop:4,crop:2 --policy 1cycle --max-lr 0.1 --iters 3
	assert_refused 2 "train: --augment: crop given twice"
}

@test "bad input: a JSON member given twice in a bounds or description file -> 1, naming it" {
	printf '{"max_lr": 0.5, "max_lr": 0.1}\n' >b.json
	run --separate-stderr clrgen --bounds b.json --iters 10
	assert_refused 1 "clrgen: b.json: the member \"max_lr\" is given twice"
	printf '{"layers":[{"type":"dense","units":10,"units":12}]}' >m.json
	run --separate-stderr train --model-info --model m.json
	assert_refused 1 "train: m.json: the member \"units\" is given twice"
}

@test "bad input: a hexadecimal number in a CSV -> 1, as lrplot refuses it" {
	printf 'iter,lr,loss\n0,0x1p-7,2.3\n1,0.01,2.2\n' >r.csv
	run --separate-stderr lrsuggest r.csv
	assert_refused 1 "lrsuggest: r.csv: line 2: column 'lr': not a number: '0x1p-7'"
}

@test "bad option: --data idx: with a wrong number of files -> 2" {
	run --separate-stderr lrtest --data idx:a,b,c --iters 3
	assert_refused 2 "lrtest: --data idx:a,b,c: expected 2 files, IMAGES,LABELS, or 4, IMAGES,LABELS,TEST_IMAGES,TEST_LABELS; 3 given"
}
