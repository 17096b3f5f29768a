#!/usr/bin/env bash
# Rebuilds vendor/actix-http from the pinned crates.io release of actix-http
# and the patches in patches/, applied in order (patches/README.md says what
# each is for).
#
#   vendor/actix-http/rebuild.sh            write the tree (only files whose bytes change)
#   vendor/actix-http/rebuild.sh --check    fail, showing the difference, unless the tree
#                                           is exactly upstream plus the patches
#   vendor/actix-http/rebuild.sh --git DIR  a git repository in DIR: upstream, then one
#                                           commit per patch, for changing a patch
#                                           (patches/README.md, "Changing a patch")
#
# The release comes from $ACTIX_HTTP_CRATE (a path to the .crate file) if set,
# else from cargo's download cache, else from crates.io; its SHA-256 is
# checked whatever its source.
#
# Of the release's files, three are left out of the tree:
#   .cargo_vcs_info.json  packaging metadata (the upstream commit, which
#                         patches/README.md records)
#   Cargo.toml.orig       the manifest before crates.io normalized it; cargo never reads it
#   Cargo.lock            it resolves actix-web's own actix-http (a dev-dependency of the
#                         test suite) to crates.io's 3.19.0; the tree's Cargo.lock is
#                         wikidex's, derived from it (patches/README.md, "Tests")
# and these files of the tree are wikidex's own, not rebuilt and not checked:
#   patches/  rebuild.sh  Cargo.lock  target/ (a build directory, if any)
set -euo pipefail

NAME=actix-http
VERSION=3.20.0
SHA256=d20a22850ea7fecad12c5f8cd97d246c3af1f04ef400033977c2f13425c45816
URL="https://static.crates.io/crates/$NAME/$NAME-$VERSION.crate"

here="$(cd "$(dirname "$0")" && pwd)"
mode=write
git_dir=
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    --git)
        mode=git
        git_dir="${2:?--git needs a directory}"
        ;;
    *)
        echo "usage: $0 [--check | --git DIR]" >&2
        exit 2
        ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

crate=
if [ -n "${ACTIX_HTTP_CRATE:-}" ]; then
    crate="$ACTIX_HTTP_CRATE"
else
    for cached in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$NAME-$VERSION.crate"; do
        [ -f "$cached" ] && crate="$cached" && break
    done
fi
if [ -z "$crate" ]; then
    crate="$tmp/$NAME-$VERSION.crate"
    curl --fail --silent --show-error --location --retry 3 -o "$crate" "$URL"
fi
if ! echo "$SHA256  $crate" | sha256sum --check --quiet -; then
    echo "$crate: not the published $NAME $VERSION (SHA-256 $SHA256)" >&2
    exit 1
fi

tar -xzf "$crate" -C "$tmp"
tree="$tmp/$NAME-$VERSION"
rm -f "$tree/.cargo_vcs_info.json" "$tree/Cargo.toml.orig" "$tree/Cargo.lock"

# A repository of its own, so that `git apply` never resolves paths against
# an enclosing one (TMPDIR inside a work tree) and `git am` has one to use.
git_q() {
    git -C "$tree" -c user.name=rebuild -c user.email=rebuild@localhost \
        -c core.autocrlf=false "$@"
}
git_q init -q
git_q add -A
git_q commit -q -m "$NAME $VERSION from crates.io"
git_q tag upstream

shopt -s nullglob
patches=("$here"/patches/[0-9][0-9][0-9][0-9]-*.patch)
for patch in "${patches[@]}"; do
    if [ "$mode" = git ]; then
        # The patch header becomes the commit message, so `git format-patch`
        # gives the same file back.
        git_q am -q "$patch" || {
            echo "$patch does not apply" >&2
            exit 1
        }
    else
        git_q apply "$patch" || {
            echo "$patch does not apply" >&2
            exit 1
        }
    fi
done

if [ "$mode" = git ]; then
    if [ -e "$git_dir" ]; then
        echo "$git_dir exists; --git makes a new directory" >&2
        exit 2
    fi
    mv "$tree" "$git_dir"
    echo "$git_dir: $NAME $VERSION plus ${#patches[@]} patches, one commit each"
    exit 0
fi
rm -rf "$tree/.git"

# The tree as it stands, less wikidex's own top-level files.
current() {
    (cd "$here" && find . -mindepth 1 \( -path ./patches -o -path ./rebuild.sh \
        -o -path ./Cargo.lock -o -path ./target \) -prune -o -print)
}
kind() { if [ -d "$1" ]; then echo dir; elif [ -e "$1" ]; then echo file; else echo none; fi; }

if [ "$mode" = check ]; then
    mkdir "$tmp/current"
    current | while IFS= read -r path; do
        if [ -d "$here/$path" ]; then
            mkdir -p "$tmp/current/$path"
        else
            cp "$here/$path" "$tmp/current/$path"
        fi
    done
    if diff -r -u "$tree" "$tmp/current" >"$tmp/diff"; then
        echo "vendor/actix-http is $NAME $VERSION plus ${#patches[@]} patches"
        exit 0
    fi
    echo "vendor/actix-http differs from $NAME $VERSION plus its patches" \
        "(+ lines are the tree's; $0 rebuilds it):" >&2
    head -n 200 "$tmp/diff" >&2
    exit 1
fi

# Write: remove what the rebuilt tree lacks, copy only the files that
# changed, so that cargo rebuilds only what it must (a copy keeps no
# timestamps from the tarball: an old one would hide a change from cargo).
current | sort -r | while IFS= read -r path; do
    if [ "$(kind "$here/$path")" != "$(kind "$tree/$path")" ]; then
        rm -rf "${here:?}/$path"
    fi
done
(cd "$tree" && find . -mindepth 1 -print) | sort | while IFS= read -r path; do
    if [ -d "$tree/$path" ]; then
        mkdir -p "$here/$path"
    elif ! cmp -s "$tree/$path" "$here/$path"; then
        cp "$tree/$path" "$here/$path"
    fi
done
echo "vendor/actix-http: $NAME $VERSION plus ${#patches[@]} patches written"
