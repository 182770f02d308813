#!/usr/bin/env bats
# lrplot: plots of range, schedule and training CSVs through gnuplot.

bats_require_minimum_version 1.5.0

setup() {
	fixtures=$BATS_TEST_DIRNAME/fixtures
	cd "$BATS_TEST_TMPDIR"
}

lrplot() {
	"$BATS_TEST_DIRNAME/../scripts/lrplot" "$@"
}

# is_png FILE: FILE starts with the PNG signature.
is_png() {
	[ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ]
}

@test "a range CSV with bounds is drawn to a PNG" {
	run --separate-stderr lrplot -o range.png \
		"$fixtures/range.csv" "$fixtures/bounds.json"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$stderr" = "lrplot: wrote range.png" ]
	is_png range.png
}

@test "without -o the PNG is named after the CSV" {
	cp "$fixtures/range.csv" "$fixtures/bounds.json" .
	run lrplot range.csv bounds.json
	[ "$status" -eq 0 ]
	is_png range.png
}

@test "options may follow the operands" {
	run lrplot "$fixtures/range.csv" "$fixtures/bounds.json" -o out.png -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	is_png out.png
}

@test "-q writes nothing on stdout or stderr" {
	run lrplot -q -o range.png "$fixtures/range.csv"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	is_png range.png
}

@test "an .svg name writes SVG" {
	run lrplot -o range.svg "$fixtures/range.csv" "$fixtures/bounds.json"
	[ "$status" -eq 0 ]
	grep -q '<svg' range.svg
}

@test "-o - prints a text plot with a log learning-rate axis" {
	run --separate-stderr lrplot -o - "$fixtures/range.csv"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *"learning rate (log scale)"* ]]
	[[ "$output" == *"0.0001"*"0.001"*"0.01"*"0.1"* ]]
	[[ "$output" == *"smoothed loss"* ]]
	[[ "$output" == *"held-out accuracy"* ]]
	[[ "$output" != *$'\f'* ]]
}

@test "the bounds and the evidence are marked with their values" {
	run lrplot -o - "$fixtures/range.csv" "$fixtures/bounds.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *"min_lr 0.05"* ]]
	[[ "$output" == *"max_lr 0.5"* ]]
	[[ "$output" == *"peak_lr 0.5"* ]]
	[[ "$output" == *"steepest_lr 0.0626"* ]]
	[[ "$output" == *"bounds (peak, from val_acc)"* ]]
}

@test "bounds refused with a reason still plot and show the reason" {
	run lrplot -o - "$fixtures/range.csv" "$fixtures/bounds-refused.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *"smoothed loss never falls"* ]]
	[[ "$output" == *"smoothed loss"* ]]
	[[ "$output" != *"min_lr"* ]]
	run lrplot -o refused.png "$fixtures/range.csv" \
		"$fixtures/bounds-refused.json"
	[ "$status" -eq 0 ]
	is_png refused.png
}

@test "a range CSV without held-out columns plots" {
	run lrplot -o - "$fixtures/range-noval.csv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"batch accuracy"* ]]
	[[ "$output" != *"held-out"* ]]
}

@test "a CSV of lr and loss only plots the loss" {
	printf 'lr,loss\n0.001,2.3\n0.01,2.1\n0.1,1.2\n1,0.9\n3,4.5\n' >ll.csv
	run lrplot -o - ll.csv
	[ "$status" -eq 0 ]
	[[ "$output" == *"training loss"* ]]
	[[ "$output" != *"smoothed loss"* ]]
	[[ "$output" != *"accuracy"* ]]
}

@test "columns are read by name, not by position" {
	printf 'acc,loss,note,lr,smooth_loss\n' >moved.csv
	printf '0.1,2.3,,0.0001,2.3\n0.2,2.2,,0.001,2.25\n' >>moved.csv
	printf '0.5,1.5,,0.01,1.9\n0.8,0.7,,0.1,1.2\n0.3,3,,1,1.6\n' >>moved.csv
	run lrplot -o - moved.csv
	[ "$status" -eq 0 ]
	[[ "$output" == *"0.0001"*"0.001"*"0.01"*"0.1"* ]]
	[[ "$output" == *"batch accuracy"* ]]
	# Read by position, the first two columns would give no number at all.
	printf 'run,note,loss,lr\ncnn,a,2.3,0.001\ncnn,b,1.1,0.1\n' >text.csv
	run --separate-stderr lrplot -o - text.csv
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *"training loss"* ]]
}

@test "a schedule CSV plots learning rate and momentum" {
	run lrplot -o - "$fixtures/schedule.csv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Learning-rate schedule: schedule.csv"* ]]
	[[ "$output" == *"momentum"* ]]
	run lrplot -o schedule.png "$fixtures/schedule.csv"
	[ "$status" -eq 0 ]
	is_png schedule.png
}

@test "a training CSV plots loss, accuracy and learning rate" {
	run lrplot -o - "$fixtures/training.csv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Training: training.csv"* ]]
	[[ "$output" == *"held-out accuracy"* ]]
	[[ "$output" == *"LR estimate"* ]]
	[[ "$output" == *"epoch 1"* ]]
	run lrplot -o training.svg "$fixtures/training.csv"
	[ "$status" -eq 0 ]
	grep -q '<svg' training.svg
}

@test "-t sets the title" {
	run lrplot -t "fashion-mnist, cnn" -o - "$fixtures/range.csv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"fashion-mnist, cnn"* ]]
}

@test "a CSV on standard input needs -o" {
	run lrplot -o stdin.png - <"$fixtures/range.csv"
	[ "$status" -eq 0 ]
	is_png stdin.png
	run lrplot - <"$fixtures/range.csv"
	[ "$status" -eq 2 ]
	[[ "$output" == *"-o is needed with a CSV on stdin"* ]]
}

@test "bounds JSON can come from standard input" {
	run lrplot -o - "$fixtures/range.csv" - <"$fixtures/bounds.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *"max_lr 0.5"* ]]
}

@test "file names with spaces work" {
	cp "$fixtures/range.csv" "my range.csv"
	cp "$fixtures/bounds.json" "my bounds.json"
	mkdir "out dir"
	run lrplot "my range.csv" "my bounds.json" -o "out dir/my plot.png"
	[ "$status" -eq 0 ]
	is_png "out dir/my plot.png"
}

@test "-h prints the usage on stdout" {
	run --separate-stderr lrplot -h
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	usage="usage: lrplot [-o OUT] [-t TITLE] [-q] CSV [BOUNDS_JSON]"
	[ "${lines[0]}" = "$usage" ]
}

@test "an unknown option is a usage error" {
	run --separate-stderr lrplot -x "$fixtures/range.csv"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ "$stderr" == *"unknown option: -x"*"usage: lrplot"* ]]
}

@test "a wrong number of operands is a usage error" {
	run lrplot
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: lrplot"* ]]
	run lrplot -o x.png a.csv b.json c.json
	[ "$status" -eq 2 ]
	[[ "$output" == *"too many operands"* ]]
	run lrplot -o
	[ "$status" -eq 2 ]
}

@test "an unsupported extension is a usage error naming -o" {
	run lrplot -o range.jpg "$fixtures/range.csv"
	[ "$status" -eq 2 ]
	[[ "$output" == *"-o range.jpg: unsupported format"* ]]
	[ ! -e range.jpg ]
}

@test "a missing CSV is an error naming it" {
	run lrplot -o x.png nowhere.csv
	[ "$status" -eq 1 ]
	[ "$output" = "lrplot: nowhere.csv: No such file or directory" ]
	[ ! -e x.png ]
}

@test "a missing bounds file is an error naming it" {
	run lrplot -o x.png "$fixtures/range.csv" nowhere.json
	[ "$status" -eq 1 ]
	[ "$output" = "lrplot: nowhere.json: No such file or directory" ]
	[ ! -e x.png ]
}

@test "malformed bounds JSON is an error naming the file" {
	printf '{"method": "peak", "min_lr": 0.05,\n' >broken.json
	run lrplot -o x.png "$fixtures/range.csv" broken.json
	[ "$status" -eq 1 ]
	[[ "$output" == "lrplot: broken.json: invalid JSON"* ]]
	printf '[0.05, 0.5]\n' >list.json
	run lrplot -o x.png "$fixtures/range.csv" list.json
	[ "$status" -eq 1 ]
	[[ "$output" == "lrplot: list.json: not a single JSON object" ]]
	[ ! -e x.png ]
}

@test "an unknown header is an error that shows it" {
	printf 'epochs,score\n1,0.5\n' >other.csv
	run lrplot -o x.png other.csv
	[ "$status" -eq 1 ]
	expected="other.csv: not a range, schedule or training CSV"
	[[ "$output" == *"$expected (header: epochs,score)" ]]
}

@test "a CSV with no data rows is an error" {
	printf 'iter,lr,loss,smooth_loss\n' >empty.csv
	run lrplot -o x.png empty.csv
	[ "$status" -eq 1 ]
	[[ "$output" == *"empty.csv: no data rows"* ]]
}

@test "-o naming a directory fails, naming it, and leaves no temporary file" {
	mkdir d.png
	run --separate-stderr lrplot "$fixtures/range.csv" -o d.png
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"lrplot: d.png: is a directory"* ]]
	[ -z "$(ls -A d.png)" ]
	[ -z "$(find . -name '.lrplot.*')" ]
	mkdir plots
	run --separate-stderr lrplot "$fixtures/range.csv" -o plots
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"lrplot: plots: is a directory"* ]]
}

@test "a row with fewer or more fields than the header is an error naming the line" {
	sed '9s/,[^,]*$//' "$fixtures/range.csv" >short.csv
	run --separate-stderr lrplot short.csv -o r.png
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"lrplot: short.csv: line 9: 6 fields where the header has 7"* ]]
	[ ! -e r.png ]
	sed '12s/$/,1/' "$fixtures/range.csv" >long.csv
	run --separate-stderr lrplot long.csv -o r.png
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"lrplot: long.csv: line 12: 8 fields where the header has 7"* ]]
}

@test "a non-numeric cell is an error naming the file and line, and the old plot stays" {
	sed '9s/^\([^,]*\),[^,]*,/\1,fast,/' "$fixtures/range.csv" >r.csv
	printf 'old plot\n' >r.png
	run --separate-stderr lrplot r.csv -o r.png
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"lrplot: r.csv: line 9: column 'lr': not a number: 'fast'"* ]]
	[ "$(cat r.png)" = "old plot" ]
	[ -z "$(find . -name '.lrplot.*')" ]
}

@test "a range CSV with a nan loss and empty held-out cells is plotted" {
	sed '5s/^\([^,]*,[^,]*\),[^,]*,/\1,nan,/' "$fixtures/range.csv" >n.csv
	run --separate-stderr lrplot -q n.csv -o n.png
	[ "$status" -eq 0 ]
	[ -s n.png ]
}

@test "a failing render leaves an existing output untouched" {
	# No learning rate above zero: nothing to draw on a log axis.
	printf 'iter,lr,loss\n0,0,2.3\n1,0,2.2\n' >flat.csv
	printf 'old plot\n' >flat.png
	run lrplot flat.csv
	[ "$status" -eq 1 ]
	[[ "$output" == *"flat.csv: gnuplot failed"* ]]
	[ "$(cat flat.png)" = "old plot" ]
	[ "$(ls -A)" = "$(printf 'flat.csv\nflat.png')" ]
}

@test "a failing render writes no output file" {
	printf 'iter,lr,loss\n0,0,2.3\n1,0,2.2\n' >flat.csv
	run lrplot -o new.svg flat.csv
	[ "$status" -eq 1 ]
	[ ! -e new.svg ]
	[ "$(ls -A)" = "flat.csv" ]
}

@test "a failing text plot prints nothing on stdout" {
	printf 'iter,lr,loss\n0,0,2.3\n1,0,2.2\n' >flat.csv
	run --separate-stderr lrplot -o - flat.csv
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"lrplot: flat.csv: gnuplot failed"* ]]
}

@test "SUPERCONV_SHARE names the directory of the gnuplot scripts" {
	mkdir share
	cp "$BATS_TEST_DIRNAME"/../scripts/*.gp share/
	SUPERCONV_SHARE=$PWD/share run lrplot -o a.png "$fixtures/range.csv"
	[ "$status" -eq 0 ]
	is_png a.png
	SUPERCONV_SHARE=$PWD/none run lrplot -o b.png "$fixtures/range.csv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"none/range.gp: No such file or directory"* ]]
	[ ! -e b.png ]
}

@test "an installed lrplot finds its scripts in ../share/superconv" {
	mkdir -p prefix/bin prefix/share/superconv
	cp "$BATS_TEST_DIRNAME/../scripts/lrplot" prefix/bin/
	cp "$BATS_TEST_DIRNAME"/../scripts/*.gp prefix/share/superconv/
	run prefix/bin/lrplot -o a.png "$fixtures/schedule.csv"
	[ "$status" -eq 0 ]
	is_png a.png
}
