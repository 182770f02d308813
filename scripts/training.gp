# training.gp: a training log in two panels that share the update axis:
# loss and accuracy above, learning rate and momentum below.  The epochs
# are marked on the top axis.
#
#   gnuplot -c training.gp DATA OUT FORMAT TITLE COLUMNS
#
# The arguments are described in common.gp.

sc_data = ARG1
sc_out = ARG2
sc_fmt = ARG3
sc_title = ARG4
sc_cols = ARG5
sc_px_w = 1000
sc_px_h = 800
sc_txt_w = 100
sc_txt_h = 40
load ARG0[1:strlen(ARG0) - strlen("training.gp")] . "common.gp"
is_text = sc_fmt eq "dumb"

# Statistics first: stats only counts the points inside the ranges set.
# The first logged update of every epoch, as "iter epoch" pairs.  The
# epoch column may count whole epochs or fractions of them.
prev_epoch = NaN
epoch_starts = ""
stats sc_data using (floor(column("epoch")) != prev_epoch ? \
    epoch_starts = epoch_starts . \
    sprintf(" %.0f %.0f", column("iter"), floor(column("epoch"))) : "", \
    prev_epoch = floor(column("epoch")), column("iter")) name "IT" nooutput
if (!exists("IT_max")) {
	exit error "columns iter and epoch have no value to draw"
}
if (has("momentum")) {
	stats sc_data using (column("momentum")) name "M" nooutput
	if (!exists("M_max")) {
		exit error "column momentum has no value to draw"
	}
	m_pad = M_max > M_min ? (M_max - M_min) / 10 : 0.05
}
n_epochs = words(epoch_starts) / 2
max_tics = is_text ? 8 : 20
epoch_step = n_epochs > max_tics ? ceil(n_epochs / (1.0 * max_tics)) : 1

set multiplot title sc_title
set xrange [IT_min : IT_max]
set lmargin 10
set rmargin 10
set key below center horizontal width 1

# Upper panel: loss on the left axis, accuracy on the right.
set origin 0, 0.38
set size 1, 0.62
set tmargin (is_text ? 2 : 4)
set bmargin (is_text ? 3 : 4)
set format x ""
set ylabel "loss"
if (n_epochs > 1) {
	set x2tics scale 0.5 nomirror
	set x2tics ()
	do for [i = 1:n_epochs:epoch_step] {
		set x2tics add ("epoch " . word(epoch_starts, 2 * i) \
		    real(word(epoch_starts, 2 * i - 1)))
	}
	set x2range [IT_min : IT_max]
	set grid x2tics
}
if (has("acc") || has("val_acc")) {
	set ytics nomirror
	set y2tics 0.2
	set y2range [0 : 1]
	set y2label "accuracy"
}
p = 'sc_data using "iter":"loss" with lines lw 1 lc rgb c_loss_raw' . \
    ' title "training loss"'
if (has("val_loss")) {
	p = p . ', sc_data using "iter":"val_loss" with linespoints' . \
	    ' pt 6 ps 1.2 lw 2 lc rgb c_val_loss title "held-out loss"'
}
if (has("acc")) {
	p = p . ', sc_data using "iter":"acc" axes x1y2 with lines lw 1' . \
	    ' lc rgb c_acc_raw title "batch accuracy"'
}
if (has("val_acc")) {
	p = p . ', sc_data using "iter":"val_acc" axes x1y2' . \
	    ' with linespoints pt 7 ps 1 lw 2 lc rgb c_acc' . \
	    ' title "held-out accuracy"'
}
eval "plot " . p

# Lower panel: learning rate (and the optimal-LR estimate, when train
# logged one) on the left axis, momentum on the right.
unset x2tics
unset y2tics
unset y2label
set grid nox2tics
set origin 0, 0
set size 1, 0.38
set tmargin 1
set bmargin (is_text ? 4 : 6)
set format x "%g"
set xlabel "update (iter)"
set ylabel (is_text ? "lr" : "learning rate")
set yrange [0 : *]
set ytics mirror
if (has("momentum")) {
	set ytics nomirror
	set y2tics autofreq
	set y2label (is_text ? "mom." : "momentum")
	set y2range [M_min - m_pad : M_max + m_pad]
}
p = 'sc_data using "iter":"lr" with lines lw 2 lc rgb c_lr' . \
    ' title "learning rate"'
if (has("lr_estimate")) {
	p = p . ', sc_data using "iter":"lr_estimate" with points' . \
	    ' pt 9 ps 1.2 lc rgb c_val_loss title "LR estimate"'
}
if (has("momentum")) {
	p = p . ', sc_data using "iter":"momentum" axes x1y2 with lines' . \
	    ' lw 2 dt 2 lc rgb c_momentum title "momentum"'
}
eval "plot " . p
unset multiplot
