#!/usr/bin/env bash
# Installs the Debian packages netlet's demo and tests use, skipping what is there.
# Run as root on Debian 12. Safe to run again.
set -euo pipefail

PACKAGES=(
  iproute2 nftables iputils-ping         # netns, links, bridge filtering, ping
  containernetworking-plugins            # real CNI plugins (/usr/lib/cni)
  busybox-static udhcpc isc-dhcp-client dhcpcd-base systemd   # real DHCP clients
  ndisc6                                 # rdisc6: IPv6 Router Solicitation probes
  qemu-system-x86                        # real VM (software emulation)
  cloud-init                             # real cloud-init (net-convert)
  dnsmasq-base kea-admin                 # reference DHCP server, perfdhcp
  tshark tcpdump                         # captures
  python3-scapy                          # spoofed frames (test/support/spoof-frames.py)
  cpio xz-utils                          # initramfs and kernel extraction
  python3 make g++ libnftables-dev       # node-gyp; the addon links libnftables
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-debian: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
