# helper.bash - shared set-up of the command-line suites (`load helper`).
#
# Every test runs the tools of this source tree (bin/, built by
# `make all`, or $SUPERCONV_BIN, as `make sanitize` sets it) in a fresh
# temporary directory of its own.

FIXTURES="$BATS_TEST_DIRNAME/fixtures"

# A network and a batch small enough for a test to train in well under
# a second; one thread, so that runs are repeatable byte for byte.
SMALL=(--hidden 32 --batch 64 --threads 1)

setup() {
	PATH="${SUPERCONV_BIN:-$BATS_TEST_DIRNAME/../bin}:$PATH"
	export PATH
	cd "$BATS_TEST_TMPDIR" || return 1
}

# The first line of $output is exactly the given CSV header.
assert_header() {
	local first="${lines[0]-}"

	if [ "$first" != "$1" ]; then
		echo "expected header: $1" >&2
		echo "got:             $first" >&2
		return 1
	fi
}

# Every line of a CSV file after its header has the same number of
# fields as the header, and each field is a number or empty.
assert_numeric_csv() {
	awk -F, '
		NR == 1 { n = NF; next }
		NF != n { print FILENAME ": line " NR ": " NF " fields, not " n; bad = 1; exit }
		{
			for (i = 1; i <= NF; i++)
				if ($i != "" && $i !~ /^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) {
					print FILENAME ": line " NR ": field " i " is not a number: " $i
					bad = 1
					exit
				}
		}
		END { if (NR < 2) { print FILENAME ": no data rows"; bad = 1 }; exit bad }
	' "$1" >&2
}

# Like assert_numeric_csv, for $output.
assert_numeric_output() {
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/.output.csv"
	assert_numeric_csv "$BATS_TEST_TMPDIR/.output.csv"
}

# Data rows of a CSV file (lines after the header).
csv_rows() {
	echo $(($(wc -l <"$1") - 1))
}

# Field named $2 of the last line of CSV file $1.
csv_last() {
	awk -F, -v col="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		{ v = $c }
		END { print v }
	' "$1"
}

# Field named $2 of data row $3 (counted from 0) of CSV file $1.
csv_field() {
	awk -F, -v col="$2" -v row="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		NR == row + 2 { print $c; exit }
	' "$1"
}

# Two decimal numbers are the same double (awk reads both with strtod).
same_double() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }' || {
		echo "expected $2, got $1" >&2
		return 1
	}
}

# The file does not exist.
assert_no_file() {
	if [ -e "$1" ]; then
		echo "$1 exists but should not" >&2
		return 1
	fi
}

# No temporary output (.name.tmpXXXXXX) was left behind in the directory.
assert_no_temp_files() {
	local left

	left=$(find "${1:-.}" -maxdepth 1 -name '*.tmp*' | head -1)
	if [ -n "$left" ]; then
		echo "temporary file left behind: $left" >&2
		return 1
	fi
}

# stdout was empty and stderr held the usage text.
assert_usage_error() {
	[ -z "$output" ] || { echo "stdout not empty: $output" >&2; return 1; }
	grep -q '^usage: ' <<<"$stderr" || {
		echo "no usage on stderr: $stderr" >&2
		return 1
	}
}
