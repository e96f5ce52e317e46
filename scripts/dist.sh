#!/usr/bin/env bash
# `make dist`: release archives of every binary in apps/ for each platform in
# $PLATFORMS (default upstream's release platforms: linux and darwin, amd64
# and arm64, freebsd/amd64 and windows/amd64), each holding bin/<binaries>
# (<binary>.exe on Windows, as go build names them), README.md, LICENSE and
# contrib/ (sample configs, systemd units), plus SHA256SUMS over the
# archives, all in $DIST (default dist/).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
PLATFORMS=${PLATFORMS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64 windows/amd64"}
COMMIT=${COMMIT:?COMMIT is set by the Makefile}
VERSION=$(sed -n 's/^const Version = "\(.*\)"$/\1/p' internal/version/version.go)
LDFLAGS="-s -w -X github.com/nsqgo/nsq/internal/version.linkedCommit=$COMMIT"

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

rm -rf "$DIST"
mkdir -p "$DIST"
archives=()
for platform in $PLATFORMS; do
  goos=${platform%/*}
  goarch=${platform#*/}
  name="nsqgo-$VERSION-$COMMIT.$goos-$goarch"
  stage="$DIST/$name"
  mkdir -p "$stage/bin" "$stage/contrib/systemd"
  echo "building $name"
  # Static, reproducible-path binaries: no cgo, so cross builds need no C
  # toolchain and run on any libc.
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch "$GO" build -trimpath -ldflags "$LDFLAGS" -o "$stage/bin/" ./apps/...
  cp README.md LICENSE "$stage/"
  cp contrib/*.toml "$stage/contrib/"
  cp contrib/systemd/*.service contrib/systemd/*.conf "$stage/contrib/systemd/"
  tar -C "$DIST" -czf "$DIST/$name.tar.gz" "$name"
  rm -rf "$stage"
  archives+=("$name.tar.gz")
done
(cd "$DIST" && sha256 "${archives[@]}" > SHA256SUMS)
echo "archives and SHA256SUMS in $DIST/"
