package io.kmsgw.audit;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;

/**
 * The line formats of the audit files. Every line is one JSON object, UTF-8, ending in {@code \n}, beginning with
 * the chain fields:
 *
 * <pre>
 * {"kmsgw":{"seq":N,"prev":"&lt;hex SHA-256 of the previous line&gt;"},"event":{...CloudTrail record...}}
 * {"kmsgw":{"seq":N,"prev":"..."},"file":{"name":"audit-20250101-001.jsonl","created":"...","previousFile":...,"anchor":...}}
 * {"kmsgw":{"seq":N,"prev":"..."},"digest":{...},"signature":"&lt;base64 DER ECDSA&gt;"}
 * </pre>
 *
 * <p>The hash of a line is SHA-256 over its exact bytes without the {@code \n}; the first line of all has
 * {@code prev} = 64 zeros. Sequence numbers count every line (events, file headers and digests) from 1 without
 * gaps. A digest's signature is {@code SHA256withECDSA} over the bytes of its line up to (not including)
 * {@code ,"signature":"}, so it covers the digest's own seq and prev and, through prev, every line before it.
 */
final class AuditRecords {
  static final String SIGNATURE_MARK = ",\"signature\":\"";
  static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

  private AuditRecords() {}

  static String chainPrefix(long seq, String prev) {
    return "{\"kmsgw\":{\"seq\":" + seq + ",\"prev\":\"" + prev + "\"},";
  }

  static String eventLine(long seq, String prev, String eventJson) {
    return chainPrefix(seq, prev) + "\"event\":" + eventJson + "}";
  }

  static String fileLine(long seq, String prev, JsonObject header) {
    return chainPrefix(seq, prev) + "\"file\":" + header.encode() + "}";
  }

  /** The signed part of a digest line. */
  static String digestBody(long seq, String prev, JsonObject digest) {
    return chainPrefix(seq, prev) + "\"digest\":" + digest.encode();
  }

  static String digestLine(String body, String signatureBase64) {
    return body + SIGNATURE_MARK + signatureBase64 + "\"}";
  }

  static String hash(String line) {
    return Hashes.sha256Hex(line.getBytes(StandardCharsets.UTF_8));
  }

  /** A parsed line: its kind ("event", "file", "digest"), chain fields and body; null fields when damaged. */
  record Parsed(String kind, Long seq, String prev, JsonObject json) {}

  static Parsed parse(String line) {
    JsonObject o;
    try {
      o = new JsonObject(line);
    } catch (DecodeException | ClassCastException e) {
      return new Parsed(null, null, null, null);
    }
    JsonObject k = o.getValue("kmsgw") instanceof JsonObject j ? j : null;
    Long seq = k != null && k.getValue("seq") instanceof Number n ? n.longValue() : null;
    String prev = k != null && k.getValue("prev") instanceof String s ? s : null;
    String kind = o.containsKey("event") ? "event" : o.containsKey("digest") ? "digest"
        : o.containsKey("file") ? "file" : null;
    return new Parsed(kind, seq, prev, o);
  }

  /** The seq of a line from its fixed prefix, without parsing it; -1 when the prefix is not there. */
  static long quickSeq(String line) {
    String p = "{\"kmsgw\":{\"seq\":";
    if (!line.startsWith(p)) {
      return -1;
    }
    int end = line.indexOf(',', p.length());
    try {
      return end < 0 ? -1 : Long.parseLong(line.substring(p.length(), end));
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
