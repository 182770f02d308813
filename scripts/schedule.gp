# schedule.gp: a learning-rate schedule: the learning rate (left axis)
# and the momentum (right axis) for every update.
#
#   gnuplot -c schedule.gp DATA OUT FORMAT TITLE COLUMNS
#
# The arguments are described in common.gp.

sc_data = ARG1
sc_out = ARG2
sc_fmt = ARG3
sc_title = ARG4
sc_cols = ARG5
sc_px_w = 1000
sc_px_h = 600
sc_txt_w = 100
sc_txt_h = 30
load ARG0[1:strlen(ARG0) - strlen("schedule.gp")] . "common.gp"

# Statistics first: stats only counts the points inside the ranges set.
stats sc_data using (column("lr")) name "LR" nooutput
if (!exists("LR_max")) {
	exit error "column lr has no value to draw"
}
if (has("momentum")) {
	stats sc_data using (column("momentum")) name "M" nooutput
	if (!exists("M_max")) {
		exit error "column momentum has no value to draw"
	}
}

set title sc_title
set xlabel "update (iter)"
set ylabel "learning rate" tc rgb c_lr
set key below center horizontal width 1
if (sc_fmt ne "dumb") {
	set bmargin 5
}
set xrange [*:*] noextend
set yrange [0 : LR_max * 1.08]
if (has("momentum")) {
	set ytics nomirror
	set y2tics
	set y2label "momentum" tc rgb c_momentum
	# Give the momentum curve some headroom so it does not run along the
	# border when it stays at its upper value.
	m_pad = M_max > M_min ? (M_max - M_min) / 10 : 0.05
	set y2range [M_min - m_pad : M_max + m_pad]
}

# The text terminal writes axis labels across the tics; the key names the
# curves there.
if (sc_fmt eq "dumb") {
	unset ylabel
	unset y2label
}

p = 'sc_data using "iter":"lr" with lines lw 2 lc rgb c_lr' . \
    ' title "learning rate"'
if (has("momentum")) {
	p = p . ', sc_data using "iter":"momentum" axes x1y2 with lines' . \
	    ' lw 2 dt 2 lc rgb c_momentum title "momentum"'
}
eval "plot " . p
