package io.kmsgw.hsm;

import io.kmsgw.domain.Algorithms;

/**
 * The MAC part of the HSM port: an HMAC computed in the HSM with an HMAC key (a generic secret that never leaves the
 * token). Verifying is computing again and comparing in the gateway, in constant time.
 */
public interface MacKeys {
  /**
   * The raw HMAC (RFC 2104) of the message with the key, as the HSM computes it ({@code CKM_SHA256_HMAC} and its
   * siblings): 28, 32, 48 or 64 bytes.
   */
  byte[] hmac(HsmKey key, Algorithms.Mac algorithm, byte[] message) throws HsmException;
}
