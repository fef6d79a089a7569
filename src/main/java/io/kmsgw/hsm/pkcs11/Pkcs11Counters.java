package io.kmsgw.hsm.pkcs11;

import java.util.concurrent.atomic.LongAdder;

/** Counts of the PKCS#11 calls that a steady-state request must not make. */
final class Pkcs11Counters {
  final LongAdder sessionsOpened = new LongAdder();
  final LongAdder logins = new LongAdder();
  final LongAdder findObjects = new LongAdder();
}
