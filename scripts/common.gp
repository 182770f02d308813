# common.gp: what every lrplot script shares.
#
# lrplot runs  gnuplot -c KIND.gp DATA OUT FORMAT TITLE COLUMNS [...]
# and the KIND.gp script copies its arguments into sc_data (the CSV),
# sc_out (the file to write), sc_fmt (png, svg or dumb), sc_title and
# sc_cols (the names of the CSV columns that hold at least one value,
# separated by spaces) before it loads this file, together with the image
# size: sc_px_w, sc_px_h in pixels and sc_txt_w, sc_txt_h in characters.
# (load clears ARG1..ARG9, so this file cannot read them itself.)

# has("name") is true when the CSV has a column of that name with a value.
has(name) = strstrt(" " . sc_cols . " ", " " . name . " ") > 0

# Columns are read by the names in the header row; an empty field is a
# missing value.
set datafile separator comma
set datafile columnheaders

if (sc_fmt eq "png") {
	if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
		set terminal pngcairo size sc_px_w, sc_px_h noenhanced \
		    font "sans,10" background rgb "white"
	} else {
		set terminal png size sc_px_w, sc_px_h noenhanced \
		    background rgb "white"
	}
} else {
	if (sc_fmt eq "svg") {
		set terminal svg size sc_px_w, sc_px_h noenhanced \
		    font "sans,10" background rgb "white"
	} else {
		set terminal dumb size sc_txt_w, sc_txt_h noenhanced
	}
}
set output sc_out

# Plain numbers on every axis: the text terminal cannot draw exponents.
set format x "%g"
set format y "%g"
set format y2 "%g"
if (sc_fmt ne "dumb") {
	set grid xtics ytics lc rgb "#dddddd" lw 1 dt solid
}
set border lc rgb "#444444"
set key noautotitle

# Colours shared by the plots.
c_loss_raw = "#9ecae1"
c_loss = "#08519c"
c_acc_raw = "#fdd0a2"
c_acc = "#d94801"
c_val_loss = "#6a51a3"
c_lr = "#08519c"
c_momentum = "#238b45"
c_bounds = "#cb181d"
