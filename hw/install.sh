#!/usr/bin/env bash
# Install wakegate as a service on 64-bit Raspberry Pi OS (or Debian). Safe to run again: it
# changes only what differs, keeps an existing config, and says what it did.
#
#   sudo hw/install.sh [--board NAME] [--owner-pub FILE]
#
# Options:
#   --board NAME          board profile (wakegate boards); default: detected on a Pi, else none
#   --owner-pub FILE      the owner's public key (owner.pub from `wakegate keys init` on YOUR computer)
#   --generate-owner-key  make the owner key pair here instead (the private key then sits on the device)
#   --source SPEC         what pip installs (default: this checkout)
#   --root DIR            install into DIR instead of / (also DESTDIR=DIR); no apt, systemctl --root
#   --no-apt, --no-pip, --no-systemctl   skip that step
#   --dry-run             print what would change, change nothing
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${DESTDIR:-}"
board=""
owner_pub=""
generate_key=0
source_spec=""
do_apt=1
do_pip=1
do_systemctl=1
dry_run=0
changes=0

usage() { sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() { echo "install: error: $*" >&2; exit 2; }
say() { echo "install: $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --board) board="${2:?--board needs a name}"; shift ;;
        --owner-pub) owner_pub="${2:?--owner-pub needs a file}"; shift ;;
        --generate-owner-key) generate_key=1 ;;
        --source) source_spec="${2:?--source needs a pip requirement or folder}"; shift ;;
        --root) root="${2:?--root needs a folder}"; shift ;;
        --no-apt) do_apt=0 ;;
        --no-pip) do_pip=0 ;;
        --no-systemctl) do_systemctl=0 ;;
        --dry-run) dry_run=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

root="${root%/}"
if [ -n "$root" ]; then
    [ -d "$root" ] || die "--root $root is not a folder"
    root="$(cd "$root" && pwd)"
fi
[ "$(id -u)" = 0 ] || [ "$dry_run" = 1 ] || die "run as root (sudo), or with --dry-run"
[ -z "$owner_pub" ] || [ -f "$owner_pub" ] || die "--owner-pub $owner_pub: no such file"

prefix=/opt/wakegate
venv="$root$prefix/.venv"
etc="$root/etc/wakegate"
unit_dir="$root/etc/systemd/system"

# Every change goes through here, so --dry-run shows it instead and the summary can count it.
change() {
    local what="$1"; shift
    changes=$((changes + 1))
    if [ "$dry_run" = 1 ]; then
        say "would $what"
    else
        say "$what"
        "$@"
    fi
}

# A file that belongs to wakegate (replaced when it differs) or to the admin (kept once there).
put_file() {  # SOURCE DEST MODE OWNER:GROUP keep|replace
    local src="$1" dest="$2" mode="$3" owner="$4" policy="$5"
    if [ -e "$dest" ]; then
        if [ "$policy" = keep ] || cmp -s "$src" "$dest"; then
            fix_mode "$dest" "$mode" "$owner"
            return
        fi
        change "replace ${dest#"$root"}" install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest"
    else
        change "create ${dest#"$root"}" install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest"
    fi
}

fix_mode() {  # PATH MODE OWNER:GROUP (numeric ids, so they mean the same inside --root)
    local path="$1" mode="$2" owner="$3"
    if [ "$(stat -c '%a %u:%g' "$path")" != "${mode#0} $owner" ]; then
        change "set ${path#"$root"} to $mode $owner" chmod "$mode" "$path"
        [ "$dry_run" = 1 ] || chown "$owner" "$path"
    fi
}

put_dir() {  # PATH MODE OWNER:GROUP
    if [ -d "$1" ]; then
        fix_mode "$1" "$2" "$3"
    else
        change "create ${1#"$root"}/" install -d -m "$2" -o "${3%%:*}" -g "${3##*:}" "$1"
    fi
}

id_in_root() {  # passwd|group NAME -> numeric id from the target's own files
    awk -F: -v name="$2" '$1 == name { print $3 }' "$root/etc/$1"
}

# -- what machine is this --------------------------------------------------------------------------

model=""
[ -r /proc/device-tree/model ] && model="$(tr -d '\0' < /proc/device-tree/model)"
on_pi=0
case "$model" in *"Raspberry Pi"*) on_pi=1 ;; esac
if [ -z "$board" ]; then
    cards="$(cat /proc/asound/cards 2>/dev/null || true)"
    case "$cards" in
        *seeed2mic*|*seeed-2mic*) board=respeaker-2mic ;;
        *seeed4mic*|*seeed-4mic*) board=respeaker-4mic ;;
        *)
            case "$model" in
                *"Zero 2"*) board=pi-zero-2w ;;
                *"3 Model B Plus"*) board=pi-3bplus ;;
                *"Pi 4"*) board=pi-4 ;;
                *"Pi 5"*) board=pi-5 ;;
            esac ;;
    esac
fi
[ -z "$board" ] || [ -f "$here/boards/$board.toml" ] || die "--board $board: no hw/boards/$board.toml"
say "target ${root:-/}${model:+ ($model)}, board ${board:-none}"
case "$board" in
    respeaker-*)
        [ -e /dev/spidev0.0 ] || say "note: the HAT's LEDs need SPI: sudo raspi-config nonint do_spi 0 (then reboot)"
        grep -qs seeed /proc/asound/cards || say "note: no seeed sound card yet: install the HAT's driver (seeed-voicecard) first" ;;
esac

# -- system packages -------------------------------------------------------------------------------

if [ "$do_apt" = 1 ] && [ -z "$root" ]; then
    missing=()
    for package in python3-venv libportaudio2; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        change "apt-get install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    fi
elif [ -n "$root" ]; then
    say "skipping apt in --root $root: install python3-venv and libportaudio2 there yourself"
fi

# -- the service user: no login, no home, in audio (and gpio/spi on a Pi) ----------------------------

if [ ! -f "$root/etc/passwd" ] || [ ! -f "$root/etc/group" ]; then
    die "$root/etc/passwd or $root/etc/group missing"
fi
user_tool_args=()
[ -z "$root" ] || user_tool_args=(--prefix "$root")
if [ -z "$(id_in_root passwd wakegate)" ]; then
    change "create system user wakegate" useradd "${user_tool_args[@]}" --system --user-group --no-create-home \
        --home-dir /var/lib/wakegate --shell /usr/sbin/nologin --comment "wakegate wake-word gate" wakegate
fi
for group in audio gpio spi; do
    [ -n "$(id_in_root group "$group")" ] || continue
    if ! awk -F: -v g="$group" '$1 == g { print "," $4 "," }' "$root/etc/group" | grep -q ",wakegate,"; then
        change "add wakegate to group $group" usermod "${user_tool_args[@]}" -a -G "$group" wakegate
    fi
done
gid="$(id_in_root group wakegate)"
gid="${gid:-0}"  # only in a --dry-run before the user exists

# -- the program: a venv in /opt/wakegate -----------------------------------------------------------

put_dir "$root$prefix" 0755 0:0
if [ ! -x "$venv/bin/python" ]; then
    venv_args=()
    [ "$do_pip" = 1 ] || venv_args=(--without-pip)
    change "create venv $prefix/.venv" python3 -m venv "${venv_args[@]}" "$venv"
fi
extra=""
[ "$on_pi" = 1 ] && extra="[pi]"
if [ -z "$source_spec" ]; then
    [ -f "$here/../pyproject.toml" ] || die "no checkout around $here: give --source"
    source_spec="$(cd "$here/.." && pwd)"
fi
if [ "$do_pip" = 1 ]; then
    wanted="$(sed -n 's/^version = "\(.*\)"/\1/p' "$source_spec/pyproject.toml" 2>/dev/null || true)"
    have="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("wakegate"))' 2>/dev/null || true)"
    if [ -z "$wanted" ] || [ "$have" != "$wanted" ] || { [ -n "$extra" ] && ! "$venv/bin/python" -c 'import gpiozero' 2>/dev/null; }; then
        change "pip install $source_spec$extra into $prefix/.venv" "$venv/bin/python" -m pip install -q "$source_spec$extra"
    fi
else
    say "skipping pip (--no-pip): $prefix/.venv has no wakegate until: $prefix/.venv/bin/pip install '$source_spec$extra'"
fi

# -- settings in /etc/wakegate: the admin's once written --------------------------------------------

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
put_dir "$etc" 0755 0:0
cat > "$work/wakegate.toml" <<'EOF'
# wakegate settings (every key is optional; see README.md). The service runs
#   wakegate run --config /etc/wakegate/wakegate.toml $WAKEGATE_OPTS   (from wakegate.env)
# Clips and the audit log go to /var/lib/wakegate (0700, user wakegate only).

[spool]
# Clips are sealed to this key. Only the public half belongs on the device.
public_key = "/etc/wakegate/owner.pub"
max_clips = 200

# [[sinks]]          # forwarding, see README.md; tokens make this file 0640 root:wakegate
EOF
put_file "$work/wakegate.toml" "$etc/wakegate.toml" 0640 "0:$gid" keep
echo "WAKEGATE_OPTS=\"${board:+--board $board}\"" > "$work/wakegate.env"
put_file "$work/wakegate.env" "$etc/wakegate.env" 0644 0:0 keep

# -- the owner's key ---------------------------------------------------------------------------------

if [ -n "$owner_pub" ]; then
    put_file "$owner_pub" "$etc/owner.pub" 0644 0:0 replace
elif [ "$generate_key" = 1 ] && [ ! -e "$etc/owner.pub" ]; then
    [ -x "$venv/bin/wakegate" ] || [ "$dry_run" = 1 ] || die "--generate-owner-key needs wakegate installed (not with --no-pip)"
    private="$root/root/wakegate-owner.key"
    change "generate the owner key pair ON THE DEVICE (private key $private)" \
        "$venv/bin/wakegate" keys init --data-dir "$work" --private-key "$private"
    if [ "$dry_run" = 0 ]; then
        install -m 0644 -o 0 -g 0 "$work/owner.pub" "$etc/owner.pub"
        say "WARNING: $private opens every clip. Copy it to your own computer and delete it here (shred -u)."
    fi
fi
if [ ! -e "$etc/owner.pub" ]; then
    say "no owner key yet: the gate refuses to start until /etc/wakegate/owner.pub exists. On YOUR computer:"
    say "    wakegate keys init          # private key stays there: ~/.config/wakegate/owner.key"
    say "    scp ~/.local/share/wakegate/owner.pub <device>:/tmp/ && sudo $0 --owner-pub /tmp/owner.pub"
    say "The device gets only owner.pub: it can seal clips, never open them. (--generate-owner-key makes the"
    say "pair here instead, which leaves the private key on the device: only for a test bench.)"
fi

# -- the systemd unit --------------------------------------------------------------------------------

put_dir "$unit_dir" 0755 0:0
changes_before_unit=$changes
put_file "$here/wakegate.service" "$unit_dir/wakegate.service" 0644 0:0 replace
unit_changed=$((changes - changes_before_unit))
if [ "$do_systemctl" = 0 ]; then
    say "skipping systemctl (--no-systemctl): systemctl enable --now wakegate"
elif [ -n "$root" ]; then
    if [ ! -L "$unit_dir/multi-user.target.wants/wakegate.service" ]; then
        change "enable wakegate.service in $root" systemctl --root="$root" --quiet enable wakegate.service
    fi
else
    [ "$unit_changed" = 0 ] || [ "$dry_run" = 1 ] || systemctl daemon-reload
    systemctl --quiet is-enabled wakegate.service 2>/dev/null || change "enable wakegate.service" systemctl --quiet enable wakegate.service
    if [ -e "$etc/owner.pub" ] && ! systemctl --quiet is-active wakegate.service; then
        change "start wakegate.service" systemctl start wakegate.service
    elif [ "$unit_changed" != 0 ] && systemctl --quiet is-active wakegate.service; then
        change "restart wakegate.service (unit changed)" systemctl restart wakegate.service
    fi
fi

if [ "$changes" = 0 ]; then
    say "nothing to change: wakegate is installed"
elif [ "$dry_run" = 1 ]; then
    say "$changes change(s) would be made (dry run: nothing changed)"
else
    say "done: $changes change(s); status: systemctl status wakegate, journalctl -u wakegate, wakegate status"
fi
