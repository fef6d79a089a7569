package io.kmsgw.api.http;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Request ids in the UUID form AWS uses for {@code x-amzn-RequestId}. They correlate a response with its log line
 * and need to be unique, not unpredictable, so they come from a thread-local generator rather than
 * {@code UUID.randomUUID()}'s SecureRandom, which is synchronised and slow on every request.
 */
final class RequestIds {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private RequestIds() {}

  static String next() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = (r.nextLong() & ~0xF000L) | 0x4000L; // version 4
    long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L; // IETF variant
    char[] out = new char[36];
    int p = 0;
    for (int i = 15; i >= 0; i--) {
      out[p++] = HEX[(int) (hi >>> (i * 4)) & 0xF];
      if (p == 8 || p == 13) {
        out[p++] = '-';
      }
    }
    out[p++] = '-';
    for (int i = 15; i >= 0; i--) {
      out[p++] = HEX[(int) (lo >>> (i * 4)) & 0xF];
      if (p == 23) {
        out[p++] = '-';
      }
    }
    return new String(out);
  }
}
