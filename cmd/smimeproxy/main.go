// Command smimeproxy is an IMAP and POP3 proxy that decrypts S/MIME mail for
// clients that cannot, and tells them truthfully what it found.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand. Each lives in its own file and registers itself
// in init, so that the files can grow independently.
type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(name string, cmd command) {
	if _, dup := commands[name]; dup {
		panic("smimeproxy: command registered twice: " + name)
	}
	commands[name] = cmd
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func runMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "smimeproxy: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: smimeproxy <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-14s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'smimeproxy <command> -h' for a command's flags.")
}

// subcommand runs one verb of a command group such as "keys import".
type subcommand func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// runGroup dispatches args[0] to its subcommand, printing usage for help
// requests (exit 0) and for a missing or unknown verb (exit 2).
func runGroup(group string, args []string, stdin io.Reader, stdout, stderr io.Writer,
	usage func(io.Writer), verbs map[string]subcommand) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if run, ok := verbs[args[0]]; ok {
		return run(args[1:], stdin, stdout, stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "smimeproxy %s: unknown subcommand %q\n\n", group, args[0])
	usage(stderr)
	return 2
}
