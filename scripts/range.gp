# range.gp: an LR range test: loss against the learning rate on a log
# axis, accuracy on the right axis, and the suggested bounds.
#
#   gnuplot -c range.gp DATA OUT FORMAT TITLE COLUMNS MARKS METHOD REASON
#
# MARKS lists the learning rates to mark as "name value" pairs separated by
# spaces (min_lr and max_lr are the bounds, other *_lr names the evidence
# behind them); METHOD names how the bounds were chosen; REASON is set when
# no bounds could be suggested.  The other arguments are in common.gp.

sc_data = ARG1
sc_out = ARG2
sc_fmt = ARG3
sc_title = ARG4
sc_cols = ARG5
sc_marks = ARG6
sc_method = ARG7
sc_reason = ARG8
sc_px_w = 1000
sc_px_h = 650
sc_txt_w = 100
sc_txt_h = 30
load ARG0[1:strlen(ARG0) - strlen("range.gp")] . "common.gp"

# The learning rates the test swept, widened to take in every marked value.
stats sc_data using (column("lr") > 0 ? column("lr") : NaN) \
    name "LR" nooutput
if (!exists("LR_min")) {
	exit error "column lr has no learning rate above 0 to draw"
}
x_lo = LR_min
x_hi = LR_max
n_marks = words(sc_marks) / 2
do for [i = 1:n_marks] {
	v = real(word(sc_marks, 2 * i))
	x_lo = v < x_lo ? v : x_lo
	x_hi = v > x_hi ? v : x_hi
}
set logscale x 10
set xrange [x_lo / 1.25 : x_hi * 1.25]
set xlabel "learning rate (log scale)"

# A test that runs until the loss diverges ends far above where it began;
# cut the loss axis there so that the part worth reading is not flattened.
loss_col = has("smooth_loss") ? "smooth_loss" : "loss"
first_loss = NaN
stats sc_data using (first_loss = first_loss == first_loss ? \
    first_loss : column(loss_col), column(loss_col)) name "SMOOTH" nooutput
stats sc_data using (column("loss")) name "RAW" nooutput
if (!exists("RAW_max") || !exists("SMOOTH_min")) {
	exit error "column " . loss_col . " has no value to draw"
}
loss_top = 1.5 * first_loss > 4 * SMOOTH_min ? \
    1.5 * first_loss : 4 * SMOOTH_min
set ylabel "loss"
if (first_loss > 0 && SMOOTH_min > 0 && RAW_max > loss_top) {
	set yrange [* : loss_top]
	set ylabel sprintf("loss (cut at %.3g)", loss_top)
}

if (has("acc") || has("val_acc")) {
	set ytics nomirror
	set y2range [0 : 1]
	set y2tics 0.2
	set y2label "accuracy"
}

# Bounds are drawn as labelled dashed lines; every other marked value gets
# a line of its own style and an entry in the key.
ev_colors = "#6a51a3 #238b45 #737373 #e7298a #8c510a"
array ev_title[n_marks > 0 ? n_marks : 1]
n_bounds = 0
n_ev = 0
do for [i = 1:n_marks] {
	name = word(sc_marks, 2 * i - 1)
	v = real(word(sc_marks, 2 * i))
	if (name eq "min_lr" || name eq "max_lr") {
		n_bounds = n_bounds + 1
		set arrow i from v, graph 0 to v, graph 1 nohead back \
		    lw 2 dt 2 lc rgb c_bounds
		set label i sprintf("%s %.3g", name, v) at v, graph 1 \
		    front tc rgb c_bounds
		if (sc_fmt eq "dumb") {
			set label i left offset 1, -1
		} else {
			set label i center offset 0, 1
		}
	} else {
		n_ev = n_ev + 1
		ev_title[n_ev] = sprintf("%s %.3g", name, v)
		ev_color = word(ev_colors, (n_ev - 1) % 5 + 1)
		set arrow i from v, graph 0 to v, graph 1 nohead back \
		    lw 1.5 dt n_ev + 2 lc rgb ev_color
	}
}
bounds_title = sc_method eq "" ? "bounds" : "bounds (" . sc_method . ")"

if (sc_reason ne "") {
	sc_title = sc_title . "\nno bounds suggested" . \
	    (sc_method eq "" ? "" : " by " . sc_method) . ": " . sc_reason
}
set title sc_title
if (sc_fmt ne "dumb") {
	# Room above the graph for the labels of the bounds.
	set tmargin (sc_reason eq "" ? 5 : 6)
	set title offset 0, 1.5
	set bmargin 7
}
set key below center horizontal width 1

# The raw loss is drawn thin and light when a smoothed one is there to read.
# Only the columns that hold values are plotted: the command is put
# together from its elements, which name the data by variable.
raw_lw = has("smooth_loss") ? 1 : 2
raw_color = has("smooth_loss") ? c_loss_raw : c_loss
p = 'sc_data using "lr":"loss" with lines lw raw_lw lc rgb raw_color' . \
    ' title "training loss"'
if (has("smooth_loss")) {
	p = p . ', sc_data using "lr":"smooth_loss" with lines lw 2.5' . \
	    ' lc rgb c_loss title "smoothed loss"'
}
if (has("val_loss")) {
	p = p . ', sc_data using "lr":"val_loss" with points pt 6 ps 1.2' . \
	    ' lc rgb c_val_loss title "held-out loss"'
}
if (has("acc")) {
	p = p . ', sc_data using "lr":"acc" axes x1y2 with lines lw 1' . \
	    ' lc rgb c_acc_raw title "batch accuracy"'
}
if (has("val_acc")) {
	p = p . ', sc_data using "lr":"val_acc" axes x1y2 with linespoints' . \
	    ' pt 7 ps 1 lw 2 lc rgb c_acc title "held-out accuracy"'
}
if (n_bounds > 0) {
	p = p . ', NaN with lines lw 2 dt 2 lc rgb c_bounds title bounds_title'
}
if (n_ev > 0) {
	p = p . ', for [i = 1:n_ev] NaN with lines lw 1.5 dt i + 2' . \
	    ' lc rgb word(ev_colors, (i - 1) % 5 + 1) title ev_title[i]'
}
eval "plot " . p
