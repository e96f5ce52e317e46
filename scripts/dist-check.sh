#!/usr/bin/env bash
# `make dist-check`: runs `make dist` into a temporary directory and checks
# what a user downloads: SHA256SUMS matches every archive, each archive
# holds every binary of apps/ plus README.md, LICENSE and contrib/, each
# binary is built for its platform, and the one for this machine runs:
# `nsqd --version` names this project and the commit; and `make install
# PREFIX=` installs every binary. Slow (a build of every
# binary per platform), so not part of `make test`; CI runs it. PLATFORMS
# narrows it, e.g. PLATFORMS=linux/amd64.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DIST="$work/dist"
# One commit for the whole check, even if HEAD moves while it runs.
commit=$(make --no-print-directory -s print-commit)
make --no-print-directory dist DIST="$DIST" COMMIT="$commit" ${PLATFORMS:+PLATFORMS="$PLATFORMS"}

fail() { echo "dist-check: $*" >&2; exit 1; }
sha256_check() {
  if command -v sha256sum >/dev/null; then sha256sum -c --quiet "$@"; else shasum -a 256 -c --quiet "$@"; fi
}

(cd "$DIST" && sha256_check SHA256SUMS) || fail "SHA256SUMS does not match the archives"
host="$("$GO" env GOOS)-$("$GO" env GOARCH)"
apps=$(ls apps)
checked=0 ran=0
for archive in "$DIST"/*.tar.gz; do
  name=$(basename "$archive" .tar.gz)
  platform=${name##*.}
  grep -q " $name.tar.gz\$" "$DIST/SHA256SUMS" || fail "$name.tar.gz is not in SHA256SUMS"
  mkdir -p "$work/x" && tar -C "$work/x" -xzf "$archive"
  root="$work/x/$name"
  for f in README.md LICENSE contrib/nsqd.toml contrib/nsqlookupd.toml contrib/nsqadmin.toml \
    contrib/systemd/nsqd.service contrib/systemd/nsqlookupd.service contrib/systemd/nsqadmin.service; do
    [[ -s $root/$f ]] || fail "$name: $f missing"
  done
  exe=
  [[ $platform == windows-* ]] && exe=.exe
  for app in $apps; do
    [[ -f $root/bin/$app$exe && -x $root/bin/$app$exe ]] || fail "$name: bin/$app$exe missing"
  done
  # The binary's format must be the platform's: ELF for linux and freebsd
  # (FreeBSD's with its OS/ABI byte, 9, in e_ident[7]; Go's linux binaries
  # leave it 0), 64-bit Mach-O for darwin, PE ("MZ", then "PE\0\0" at the
  # offset in bytes 60-63) for windows.
  nsqd=$root/bin/nsqd$exe
  magic=$(od -An -tx1 -N4 "$nsqd" | tr -d ' \n')
  case $platform in
    linux-*) [[ $magic == 7f454c46 ]] || fail "$name: bin/nsqd is not ELF ($magic)" ;;
    freebsd-*)
      [[ $magic == 7f454c46 ]] || fail "$name: bin/nsqd is not ELF ($magic)"
      osabi=$(od -An -tu1 -j7 -N1 "$nsqd" | tr -d ' \n')
      [[ $osabi == 9 ]] || fail "$name: bin/nsqd is ELF for OS/ABI $osabi, not FreeBSD (9)" ;;
    darwin-*) [[ $magic == cffaedfe ]] || fail "$name: bin/nsqd is not 64-bit Mach-O ($magic)" ;;
    windows-*)
      [[ $magic == 4d5a* ]] || fail "$name: bin/nsqd.exe is not PE (no MZ: $magic)"
      peoff=$(od -An -tu4 -j60 -N4 "$nsqd" | tr -d ' \n')
      pesig=$(od -An -tx1 -j"$peoff" -N4 "$nsqd" | tr -d ' \n')
      [[ $pesig == 50450000 ]] || fail "$name: bin/nsqd.exe is not PE (no PE signature at $peoff: $pesig)" ;;
    *) fail "$name: no binary-format check for $platform" ;;
  esac
  if [[ $platform == "$host" ]]; then
    out=$("$root/bin/nsqd" --version)
    [[ $out =~ ^nsqd\ v[0-9.]+\ \(built\ w/go[^\)]+\)\ nsqgo\ "$commit"$ ]] ||
      fail "$name: nsqd --version printed '$out', want our name and commit $commit"
    for app in $apps; do
      v=$("$root/bin/$app" --version) || fail "$name: $app --version failed"
      [[ $v == *" nsqgo $commit" ]] || echo "dist-check: warning: $app --version does not name the commit: $v" >&2
    done
    echo "dist-check: $name: $out"
    ran=$((ran + 1))
  fi
  rm -rf "$work/x"
  checked=$((checked + 1))
done
((checked > 0)) || fail "no archive built"

# make install PREFIX=: every binary lands in $PREFIX/bin and runs.
make --no-print-directory install PREFIX="$work/prefix" BUILD="$work/build" COMMIT="$commit" >/dev/null
for app in $apps; do
  [[ -x $work/prefix/bin/$app ]] || fail "make install: bin/$app missing"
done
[[ $("$work/prefix/bin/nsqd" --version) == *" nsqgo $commit" ]] || fail "make install: nsqd --version lacks the commit"
echo "dist-check: make install PREFIX= OK"
((ran > 0)) || echo "dist-check: no archive for this machine ($host): binaries not run"
echo "dist-check: $checked archive(s) OK"
