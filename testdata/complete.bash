# bash complete.bash LINE...: for each LINE, sets the words bash gives a
# completion function for it (the cursor at its end) and calls the one
# `complete -p sluice` names, as TAB would, after Debian's bash-completion
# and `sluice completion bash` are loaded; prints the candidates, one line
# per LINE, "|"-separated.
source /usr/share/bash-completion/bash_completion
source <(sluice completion bash)
fn=$(complete -p sluice | sed -E 's/.*-F ([^ ]+).*/\1/')
for line in "$@"; do
	COMP_LINE=$line COMP_POINT=${#line}
	read -ra COMP_WORDS <<< "$line"
	[[ $line == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	"$fn" sluice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s|' "${COMPREPLY[@]}"
	echo
done
