# zsh -f zt.zsh FPATHDIR OUTFILE LINE...: types each LINE and a TAB into an
# interactive zsh, then ^X, which writes the line as completion left it;
# the terminal's output (listings) goes to stdout.
zmodload zsh/zpty
dir=$1 out=$2; shift 2
: > $out
zpty z zsh -f -i
zpty -w z "PS1='' RPS1=''; unsetopt zle_bracketed_paste; fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -D; zstyle ':completion:*' list-prompt ''"
zpty -w z "dump() { print -r -- \"<\$BUFFER>\" >> $out; BUFFER='' }; zle -N dump; bindkey '^X' dump"
n=0
for line in "$@"; do
	zpty -w -n z "$line"$'\t'
	zpty -w -n z $'\x18'
	(( n++ ))
	for i in {1..500}; do
		while zpty -r -t z chunk; do print -rn -- "$chunk"; done
		(( $(wc -l < $out) >= n )) && break
		sleep 0.01
	done
done
while zpty -r -t z chunk; do print -rn -- "$chunk"; done
zpty -d z
