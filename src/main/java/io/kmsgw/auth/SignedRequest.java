package io.kmsgw.auth;

import java.util.List;

/** The parts of an HTTP request that a SigV4 signature covers, independent of the HTTP library. */
public interface SignedRequest {
  String method();

  /** The path as sent, still percent-encoded. */
  String rawPath();

  /** The query string as sent (without {@code ?}), or null. */
  String rawQuery();

  /** Every value of a header, by case-insensitive name; empty when absent. */
  List<String> headers(String name);

  byte[] body();
}
