package config

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// completionUsage is `sluice completion --help`.
const completionUsage = "Usage: sluice completion bash|zsh|fish\n\n" +
	"Prints a completion script for the shell: sluice's flags, the fixed values of\n" +
	"--extract, --scope, --render-wait, --format and the like, file and directory\n" +
	"names where a flag takes one, and the subcommands. The script asks sluice\n" +
	"itself what to offer, so it follows the sluice on PATH. To load it:\n\n" +
	"  bash  source <(sluice completion bash)   (in ~/.bashrc), or\n" +
	"        sluice completion bash > ~/.local/share/bash-completion/completions/sluice\n" +
	"  zsh   sluice completion zsh > \"${fpath[1]}/_sluice\"   (then a new shell), or\n" +
	"        source <(sluice completion zsh)   (after compinit, in ~/.zshrc)\n" +
	"  fish  sluice completion fish > ~/.config/fish/completions/sluice.fish\n"

// WriteCompletion writes the completion script of shell, or the usage for
// --help (ErrHelpShown).
func WriteCompletion(args []string, w io.Writer) error {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprint(w, completionUsage)
		return ErrHelpShown
	case len(args) != 1:
		return errors.New("one shell is needed: bash, zsh or fish")
	case !slices.Contains(Shells, args[0]):
		return fmt.Errorf("invalid argument %q for sluice completion: bash, zsh or fish", args[0])
	}
	_, err := io.WriteString(w, completionScripts[args[0]])
	return err
}

// WriteCandidates answers a completion script (`sluice __complete WORD...`):
// the kind on the first line, then a candidate a line.
func WriteCandidates(words []string, w io.Writer) error {
	kind, out := Complete(words)
	_, err := fmt.Fprintf(w, "%s\n%s", kind, strings.Join(append(out, ""), "\n"))
	return err
}

// The scripts are thin: sluice itself (Complete) says what a word can
// become, so that the three shells offer the same.
var completionScripts = map[string]string{
	"bash": `# bash completion for sluice: sluice completion bash
_sluice() {
	local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\n' out
	out=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2> /dev/null)) || return 0
	[[ $cur == = ]] && cur=
	COMPREPLY=("${out[@]:1}")
	case ${out[0]} in
	files) compopt -o filenames 2> /dev/null; COMPREPLY+=($(compgen -f -- "$cur")) ;;
	dirs) compopt -o filenames 2> /dev/null; COMPREPLY+=($(compgen -d -- "$cur")) ;;
	esac
	if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *[,=] ]]; then
		compopt -o nospace 2> /dev/null
	fi
	return 0
}
complete -F _sluice sluice
`,
	"zsh": `#compdef sluice
# zsh completion for sluice: sluice completion zsh
_sluice() {
	local -a out spaced joined
	out=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2> /dev/null)}")
	local kind=${out[1]} w
	for w in "${(@)out[2,-1]}"; do
		[[ -z $w ]] && continue
		if [[ $w == *[,=] ]]; then joined+=("$w"); else spaced+=("$w"); fi
	done
	(( ${#spaced} )) && compadd -Q -- "${spaced[@]}"
	(( ${#joined} )) && compadd -Q -S '' -- "${joined[@]}"
	case $kind in
	files) _files ;;
	dirs) _files -/ ;;
	esac
	return 0
}
if [[ ${funcstack[1]} == _sluice ]]; then
	_sluice "$@"
else
	compdef _sluice sluice
fi
`,
	"fish": `# fish completion for sluice: sluice completion fish
function __sluice_complete
	set -l words (commandline -opc)
	set -l cur (commandline -ct)
	set -l out ($words[1] __complete $words[2..-1] "$cur" 2> /dev/null)
	or return
	printf '%s\n' $out[2..-1]
	switch "$out[1]"
		case files
			__fish_complete_path "$cur"
		case dirs
			__fish_complete_directories "$cur"
	end
end
complete -c sluice -f -a '(__sluice_complete)'
`,
}
