import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse, serialize } from '../../../src/dhcp6/codec.js';
import { dhcp6ConfigFromPlan } from '../../../src/dhcp6/config.js';
import { decodeDomainNames, encodeDomainNames } from '../../../src/dhcp6/domain-names.js';
import { duidLl } from '../../../src/dhcp6/duid.js';
import { Dhcp6ParseError } from '../../../src/dhcp6/errors.js';
import { decodeIaNa, decodeOro, iaAddresses, Msg6 } from '../../../src/dhcp6/options.js';
import { Dhcp6Server } from '../../../src/dhcp6/server.js';
import { BRIDGE_MAC, bridgeIface, CLIENT_DUID, hex, IAID, podDns, T0, unhex } from './fixtures.js';

// A Solicit laid out as systemd-networkd sends it (sd-dhcp6-client): CLIENTID (DUID-EN,
// enterprise 43793), ELAPSED_TIME 0, an empty IA_NA, ORO 23 24, RAPID_COMMIT.
const SOLICIT = `
  01 0a0b0c
  0001 000e 0002 0000ab11 9c5f3a7b11223344
  0008 0002 0000
  0003 000c 5c3a1f02 00000000 00000000
  0006 0004 0017 0018`;
const RAPID = '000e 0000';
// Hand-computed answers for bridgeIface + podDns (fd00::5/64, lifetimes 86400: T1 43200 =
// a8c0, T2 0.8 x 86400 = 69120 = 10e00; fd00::10; "cluster.local" as uncompressed labels).
const SERVER_ID = '0002 000a 0003 0001 0242ac110002';
const CLIENT_ID = '0001 000e 0002 0000ab11 9c5f3a7b11223344';
const IA_NA = `0003 0028 5c3a1f02 0000a8c0 00010e00
  0005 0018 fd000000000000000000000000000005 00015180 00015180`;
const DNS = '0017 0010 fd000000000000000000000000000010';
const DOMAINS = '0018 000f 07636c7573746572 056c6f63616c 00';
const ADVERTISE = `02 0a0b0c ${SERVER_ID} ${CLIENT_ID} 0007 0001 ff ${IA_NA} ${DNS} ${DOMAINS}`;
const RAPID_REPLY = `07 0a0b0c ${SERVER_ID} ${CLIENT_ID} ${RAPID} ${IA_NA} ${DNS} ${DOMAINS}`;

const server = (): Dhcp6Server => new Dhcp6Server(dhcp6ConfigFromPlan(bridgeIface(), podDns(), { bridgeMac: BRIDGE_MAC }), false);

void describe('DHCPv6 wire format, golden bytes', () => {
  void it('parses a systemd-networkd Solicit', () => {
    const r = parse(unhex(SOLICIT));
    assert.ok(r.ok);
    assert.equal(r.message.type, Msg6.Solicit);
    assert.equal(r.message.transactionId, 0x0a0b0c);
    assert.deepEqual(r.message.options.map((o) => o.code), [1, 8, 3, 6]);
    assert.deepEqual(r.message.options[0]!.data, CLIENT_DUID);
    assert.deepEqual(decodeIaNa(r.message.options[2]!.data), { iaid: IAID, t1: 0, t2: 0, options: [] });
    assert.deepEqual(decodeOro(r.message.options[3]!.data), [23, 24]);
    assert.equal(hex(serialize(r.message)), hex(unhex(SOLICIT)));
  });

  void it('answers it with the hand-computed Advertise', () => {
    const r = server().receive(unhex(SOLICIT), T0);
    assert.equal(r.event.kind, 'advertised');
    assert.equal(hex(serialize(r.reply!)), hex(unhex(ADVERTISE)));
  });

  void it('answers Solicit + Rapid Commit with the hand-computed Reply', () => {
    const r = server().receive(unhex(`${SOLICIT} ${RAPID}`), T0);
    assert.equal(r.event.kind, 'bound');
    assert.equal(hex(serialize(r.reply!)), hex(unhex(RAPID_REPLY)));
  });

  void it('a Request naming the advertised address gets a Reply with it', () => {
    const s = server();
    const request = unhex(`03 0d0e0f ${CLIENT_ID} ${SERVER_ID} 0008 0002 0000
      0003 0028 5c3a1f02 00000000 00000000 0005 0018 fd000000000000000000000000000005 00000000 00000000
      0006 0004 0017 0018`);
    const r = s.receive(request, T0);
    assert.equal(r.event.kind, 'bound');
    assert.equal(hex(serialize(r.reply!)), hex(unhex(`07 0d0e0f ${SERVER_ID} ${CLIENT_ID} ${IA_NA} ${DNS} ${DOMAINS}`)));
  });

  void it('the server DUID is DUID-LL of the bridge MAC', () => {
    assert.equal(hex(duidLl(BRIDGE_MAC)), '00030001' + '0242ac110002');
    assert.equal(hex(duidLl('02-42-AC-11-00-02')), hex(duidLl(BRIDGE_MAC)));
  });
});

void describe('DHCPv6 parse errors are typed', () => {
  const reason = (h: string): string | undefined => {
    const r = parse(unhex(h));
    if (r.ok) return undefined;
    assert.ok(r.error instanceof Dhcp6ParseError);
    return r.error.reason;
  };
  void it('rejects what is not a well-formed client/server message', () => {
    assert.equal(reason('01 0a0b'), 'too-short');
    assert.equal(reason('0c 000000 0001 0000'), 'relay-unsupported');
    assert.equal(reason('0d 000000'), 'relay-unsupported');
    assert.equal(reason('01 000000 0001 000e 0002'), 'option-overrun');
    assert.equal(reason('01 000000 00'), 'option-overrun');
    assert.equal(reason('01 000000 0001 0001 00'), 'bad-option'); // a 1-octet DUID
    assert.equal(reason('01 000000 0003 0008 0000000000000000'), 'bad-option'); // IA_NA under 12
    assert.equal(reason('01 000000 0003 0010 00000001 00000000 00000000 0005 0018'), 'bad-option'); // IAADDR overruns the IA_NA
    assert.equal(reason('01 000000 0003 0014 00000001 00000000 00000000 0005 0004 00000000'), 'bad-option'); // IAADDR under 24
    assert.equal(reason('01 000000 0006 0003 001700'), 'bad-option');
    assert.equal(reason('01 000000 000e 0001 00'), 'bad-option');
    assert.equal(reason('01 000000 0017 0004 00000000'), 'bad-option');
    assert.equal(reason('01 000000 0018 0002 c000'), 'bad-option'); // a compression pointer
    assert.equal(reason('01 000000 0008 0001 00'), 'bad-option');
  });

  void it('keeps unknown options raw, in order, and empty messages parse', () => {
    const r = parse(unhex('0b 123456 1234 0003 616263 0027 0000'));
    assert.ok(r.ok);
    assert.deepEqual(r.message.options.map((o) => [o.code, hex(o.data)]), [[0x1234, '616263'], [39, '']]);
    assert.ok(parse(unhex('0b 000000')).ok);
  });

  void it('decodes IAADDR inside IA_NA', () => {
    const r = parse(unhex(`03 000001 0003 0028 00000007 00000000 00000000 0005 0018 20010db8000000000000000000000001 00000e10 00001c20`));
    assert.ok(r.ok);
    const ia = decodeIaNa(r.message.options[0]!.data)!;
    assert.deepEqual(iaAddresses(ia), [{ address: '2001:db8::1', preferred: 3600, valid: 7200, options: [] }]);
  });
});

void describe('uncompressed domain name lists', () => {
  void it('round-trips and never compresses', () => {
    const names = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local.'];
    const enc = encodeDomainNames(names);
    assert.equal(enc.length, 27 + 19 + 15);
    assert.ok(!enc.some((b) => (b & 0xc0) === 0xc0 && b !== 0));
    assert.deepEqual(decodeDomainNames(enc), ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  });
  void it('padding is only allowed where asked (DNSSL)', () => {
    const enc = Uint8Array.from([...encodeDomainNames(['a.b']), 0, 0, 0]);
    assert.equal(decodeDomainNames(enc), undefined);
    assert.deepEqual(decodeDomainNames(enc, true), ['a.b']);
    assert.equal(decodeDomainNames(Uint8Array.from([1, 97, 0, 0, 5]), true), undefined);
    assert.equal(decodeDomainNames(Uint8Array.from([64, ...new Array<number>(64).fill(97), 0])), undefined);
  });
  void it('a label the encoder would not write back the same is refused: a dot in it or at its end, a space, a control or non-ASCII octet', () => {
    for (const label of [[0x61, 0x2e], [0x61, 0x2e, 0x62], [0x2e], [0x61, 0x20], [0x09], [0xe9]]) {
      assert.equal(decodeDomainNames(Uint8Array.from([label.length, ...label, 0])), undefined, JSON.stringify(label));
    }
    // Whatever decodes is written back octet for octet (names of random labels, dots and all).
    const label = fc.uint8Array({ minLength: 1, maxLength: 6 }).map((l) => [l.length, ...l.map((b) => (b % 3 === 0 ? 0x2e : b))]);
    const names = fc.array(fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => [...ls.flat(), 0]), { minLength: 1, maxLength: 4 });
    fc.assert(fc.property(names, (ns) => {
      const bytes = Uint8Array.from(ns.flat());
      const decoded = decodeDomainNames(bytes);
      if (decoded) assert.deepEqual(encodeDomainNames(decoded), bytes);
    }), { numRuns: 3000 });
  });
});
