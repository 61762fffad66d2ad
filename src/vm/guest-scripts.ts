// The two shell scripts that run inside the test VM (busybox ash). Their text is part
// of the image's cache key, so editing them rebuilds the initramfs.

/** Markers and section headers of the serial report; parsed by report.ts. */
export const REPORT_BEGIN = 'NETLET-REPORT-BEGIN';
export const REPORT_END = 'NETLET-REPORT-END';
export const PING_MARK = 'NETLET-PING';
export const READY_MARK = 'NETLET-READY';
/** `NETLET-HOTPLUG add ethN <mac> ok|fail <cidr>` / `NETLET-HOTPLUG del ethN` (with netlet.hotplug=1). */
export const HOTPLUG_MARK = 'NETLET-HOTPLUG';
/** After each `add` line: the new NIC's report (the boot report's sections), `... BEGIN ethN` to `... END ethN`. */
export const HOTPLUG_REPORT_BEGIN = 'NETLET-HOTPLUG-REPORT-BEGIN';
export const HOTPLUG_REPORT_END = 'NETLET-HOTPLUG-REPORT-END';
/** `NETLET-PING6 ok|fail <target>` (with netlet.ipv6=1 and netlet.ping6=<addr>), before NETLET-PING. */
export const PING6_MARK = 'NETLET-PING6';

/** Merges /run/dns/* (one file per interface and family) into /etc/resolv.conf. */
const resolvMerge = `{
      s=$(sed -n 's/^search //p' /run/dns/* | tr ' ' '\\n' | awk 'NF && !seen[$0]++' | tr '\\n' ' ' | sed 's/ *$//')
      [ -n "$s" ] && echo "search $s"
      grep -h '^nameserver ' /run/dns/* | awk '!seen[$0]++'
    } > /etc/resolv.conf`;

/** PID 1: modules, DHCP on every ethN, report, ping the gateway, then idle or power off. */
export const initScript = `#!/bin/sh
# netlet test VM init (PID 1). Kernel options: netlet.nics=N (NICs to wait for),
# netlet.exit=1 (power off after the report), netlet.hotplug=1 (DHCP NICs that come later),
# netlet.ipv6=1 (DHCPv6 by dhcpcd; the kernel takes the RA), netlet.ping6=ADDR (ping it over IPv6).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp /etc /run/dns
# Keep kernel messages off the serial console so they cannot split report lines.
echo 1 > /proc/sys/kernel/printk

exit_after=0
hotplug=0
ipv6=0
ping6=""
nics=1
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    netlet.exit=1) exit_after=1 ;;
    netlet.hotplug=1) hotplug=1 ;;
    netlet.ipv6=1) ipv6=1 ;;
    netlet.ping6=*) ping6=\${arg#netlet.ping6=} ;;
    netlet.nics=*) nics=\${arg#netlet.nics=} ;;
  esac
done

# Dependency order, computed at build time (busybox insmod does not resolve deps).
while read -r mod; do
  insmod "/lib/modules/$mod.ko" || echo "NETLET-ERROR insmod $mod"
done < /lib/modules/load-order

# virtio-net probes during insmod; wait briefly in case a NIC shows up late.
i=0
while [ "$(ls /sys/class/net | grep -c '^eth')" -lt "$nics" ] && [ $i -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done

ip link set lo up
ifaces=$(ls /sys/class/net | grep '^eth')
for ifc in $ifaces; do ip link set "$ifc" up; done
dhcp=""
for ifc in $ifaces; do
  if udhcpc -i "$ifc" -n -q -t 10 -T 1 -s /udhcpc.script -O mtu -O staticroutes -O search -O domain; then
    dhcp="$dhcp $ifc:ok"
  else
    dhcp="$dhcp $ifc:fail"
  fi
done
dhcp6=""
if [ "$ipv6" = 1 ]; then
  for ifc in $ifaces; do
    # -w: fork to the background once the address is there (it keeps renewing).
    if dhcpcd -f /etc/dhcpcd.conf -c /dhcpcd.script -w -t 30 "$ifc" > "/run/dhcpcd-$ifc.log" 2>&1; then
      dhcp6="$dhcp6 $ifc:ok"
    else
      dhcp6="$dhcp6 $ifc:fail"
      sed 's/^/NETLET-DHCPCD /' "/run/dhcpcd-$ifc.log"
    fi
  done
  # The default route comes from the RA (the kernel's); an address is usable once DAD is over.
  i=0
  while [ $i -lt 100 ] && { ! ip -6 route | grep -q '^default' || ip -6 addr | grep -q tentative; }; do
    sleep 0.1
    i=$((i + 1))
  done
fi

# A fresh line first: firmware/console escape codes may precede it on the serial line.
echo
echo ${REPORT_BEGIN}
echo "## dhcp"
for d in $dhcp; do echo "$d"; done
echo "## dhcp6"
for d in $dhcp6; do echo "$d"; done
echo "## link"
for ifc in $ifaces; do echo "$ifc $(cat /sys/class/net/$ifc/address) $(cat /sys/class/net/$ifc/mtu)"; done
echo "## addr"
ip -o addr
echo "## route"
ip route
echo "## route6"
ip -6 route
echo "## resolv"
cat /etc/resolv.conf 2>/dev/null
echo ${REPORT_END}

if [ "$ipv6" = 1 ] && [ -n "$ping6" ]; then
  if ping6 -c 3 -W 2 "$ping6" > /dev/null 2>&1; then r=ok; else r=fail; fi
  echo "${PING6_MARK} $r $ping6"
fi
gw=$(ip route | sed -n 's/^default via \\([0-9.]*\\).*/\\1/p' | head -n 1)
if [ -n "$gw" ] && ping -c 3 -W 2 "$gw" > /dev/null 2>&1; then
  echo "${PING_MARK} ok $gw"
else
  echo "${PING_MARK} fail \${gw:-none}"
fi
echo ${READY_MARK}

[ "$exit_after" = 1 ] && poweroff -f
# Hot-plug: every NIC that appears gets DHCP and a line on the console; one that goes, a line.
known="$ifaces"
while [ "$hotplug" = 1 ]; do
  now=$(ls /sys/class/net | grep '^eth')
  for ifc in $now; do
    case " $known " in
      *" $ifc "*) ;;
      *)
        ip link set "$ifc" up
        if udhcpc -i "$ifc" -n -q -t 10 -T 1 -s /udhcpc.script -O mtu -O staticroutes -O search -O domain; then r=ok; else r=fail; fi
        echo "${HOTPLUG_MARK} add $ifc $(cat /sys/class/net/$ifc/address) $r $(ip -o -4 addr show dev $ifc | awk '{print $4}')"
        echo "${HOTPLUG_REPORT_BEGIN} $ifc"
        echo "## dhcp"
        echo "$ifc:$r"
        echo "## link"
        echo "$ifc $(cat /sys/class/net/$ifc/address) $(cat /sys/class/net/$ifc/mtu)"
        echo "## addr"
        ip -o addr show dev "$ifc"
        echo "## route"
        ip route
        echo "## resolv"
        cat /etc/resolv.conf 2>/dev/null
        echo "${HOTPLUG_REPORT_END} $ifc"
        ;;
    esac
  done
  for ifc in $known; do [ -e "/sys/class/net/$ifc" ] || echo "${HOTPLUG_MARK} del $ifc"; done
  known="$now"
  sleep 0.2
done
# Stay up (answering pings) until the host kills QEMU.
while :; do sleep 3600; done
`;

/**
 * udhcpc event hook. Applies address, mask, MTU, routers and DNS like Debian's
 * default.script, plus option 121: per RFC 3442 a client that gets classless routes
 * ignores the Router option, so the server must put 0.0.0.0/0 in option 121 itself.
 */
export const udhcpcScript = `#!/bin/sh
[ -n "$1" ] || exit 1

prefix_of() { # dotted netmask -> prefix length
  n=0
  for o in $(echo "$1" | tr . ' '); do
    case $o in
      255) n=$((n + 8)) ;; 254) n=$((n + 7)) ;; 252) n=$((n + 6)) ;; 248) n=$((n + 5)) ;;
      240) n=$((n + 4)) ;; 224) n=$((n + 3)) ;; 192) n=$((n + 2)) ;; 128) n=$((n + 1)) ;;
    esac
  done
  echo $n
}

case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    plen=\${mask:-$(prefix_of "\${subnet:-255.255.255.255}")}
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$plen" \${broadcast:+broadcast "$broadcast"} dev "$interface"
    while ip -4 route del default dev "$interface" 2> /dev/null; do :; done
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ $# -ge 2 ]; do
        if [ "$2" = 0.0.0.0 ]; then
          ip route add "$1" dev "$interface"
        else
          # A gateway outside the leased subnet is reachable on-link (RFC 3442 section 5).
          ip route add "$1" via "$2" dev "$interface" 2> /dev/null || ip route add "$1" via "$2" dev "$interface" onlink
        fi
        shift 2
      done
    elif [ -n "$router" ]; then
      metric=0
      for r in $router; do
        ip route add default via "$r" dev "$interface" metric $metric
        metric=$((metric + 1))
      done
    fi
    # One file per interface, merged (deduplicated), so a second NIC does not erase the first's DNS.
    {
      s=\${search:-$domain}
      [ -n "$s" ] && echo "search $s"
      for ns in $dns; do echo "nameserver $ns"; done
    } > "/run/dns/$interface"
    ${resolvMerge}
    ;;
esac
exit 0
`;

/**
 * dhcpcd for IPv6 only: DHCPv6 IA_NA, no router solicitation of its own (the guest
 * kernel takes netlet's RA, accept_ra=1, for the default route and on-link prefix).
 */
export const dhcpcdConf = `ipv6only
noipv6rs
ia_na 1
nodelay
persistent
option dhcp6_name_servers, dhcp6_domain_search
`;

/** dhcpcd hook: the DHCPv6 DNS into /run/dns/<ifc>.6, merged like udhcpc's. */
export const dhcpcdScript = `#!/bin/sh
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6|INFORM6)
    {
      [ -n "$new_dhcp6_domain_search" ] && echo "search $new_dhcp6_domain_search"
      for ns in $new_dhcp6_name_servers; do echo "nameserver $ns"; done
    } > "/run/dns/$interface.6"
    ${resolvMerge}
    ;;
esac
exit 0
`;
