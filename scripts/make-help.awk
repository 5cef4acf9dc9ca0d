# `make help`: every `target: ... ## text` line of the Makefile, under the `##@ <group>` line above
# it, groups in the order `groups` lists them ("A|B|C"). `on`/`off` colour target names and `head`
# the group titles (the Makefile passes them empty unless stdout is a terminal without NO_COLOR).
# A target under no group, or under a group `groups` does not list, fails: help stays complete.
BEGIN { count = split(groups, order, "|"); group = "" }
/^##@ / { group = substr($0, 5); next }
/^[a-zA-Z0-9_-]+:.*## / {
  name = $0; sub(/:.*/, "", name)
  text = $0; sub(/^[^#]*## /, "", text)
  listed[group] = listed[group] sprintf("  %s%-18s%s %s\n", on, name, off, text)
}
END {
  printf "Usage: make <target> [VARIABLE=value ...]\n"
  for (i = 1; i <= count; i++) {
    if (order[i] in listed) printf "\n%s%s%s\n%s", head, order[i], off, listed[order[i]]
    known[order[i]] = 1
  }
  for (g in listed) if (!(g in known)) {
    printf "make help: targets under \"%s\", which is not one of: %s\n", g, groups > "/dev/stderr"
    exit 1
  }
}
