#!/usr/bin/env bash
# One version, kept in VERSION, everywhere: the binary's --version, the
# manual page, the Debian package (debian/changelog's newest entry) and the
# newest CHANGELOG.md entry. The licence text in debian/copyright is LICENSE.
source "$(dirname "$0")/lib.sh"
src="$ANT_SOURCE_DIR"
version=$(head -n 1 "$src/VERSION")
printf '%s\n' "$version" | grep -qxE '[0-9]+\.[0-9]+\.[0-9]+' && ok || bad "VERSION is MAJOR.MINOR.PATCH ($version)"

"$agent" --version > version.txt
expect_grep "^Name: ant-agent \| Version: $version \|" version.txt "ant-agent --version"
"$agent" manpage > ant-agent.1
expect_grep "^\.TH ANT-AGENT 1 .*\"ant-agent $version\"" ant-agent.1 "manual page"
deb=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
expect_eq "$deb" "$version" "debian/changelog names VERSION"
top=$(sed -n 's/^## \([0-9][0-9.]*\)\( .*\)\{0,1\}$/\1/p' "$src/CHANGELOG.md" | head -n 1)
expect_eq "$top" "$version" "newest CHANGELOG.md entry is VERSION"

# debian/copyright carries the licence text (after its introduction) as
# LICENSE has it, in the copyright format's indentation.
sed -n '/^ The full text of the GNU Affero/,$p' "$src/debian/copyright" | tail -n +3 |
  sed -e 's/^ //' -e 's/^\.$//' > licence.txt
sed 's/[[:space:]]*$//' "$src/LICENSE" > LICENSE.txt
[ "$(wc -l < licence.txt)" -gt 600 ] && cmp -s licence.txt LICENSE.txt && ok || bad "debian/copyright's licence text is LICENSE"
expect_grep '^ +GNU AFFERO GENERAL PUBLIC LICENSE$' "$src/LICENSE" "LICENSE is the GNU AGPL"
expect_grep '^ +Version 3, 19 November 2007$' "$src/LICENSE" "version 3"
finish
