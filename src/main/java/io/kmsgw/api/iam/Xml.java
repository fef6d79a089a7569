package io.kmsgw.api.iam;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;

/** Writes the Query protocol's XML: elements, escaped text, ISO 8601 timestamps. */
public final class Xml {
  private final StringBuilder sb = new StringBuilder(512);

  public Xml open(String tag) {
    sb.append('<').append(tag).append('>');
    return this;
  }

  public Xml open(String tag, String namespace) {
    sb.append('<').append(tag).append(" xmlns=\"").append(namespace).append("\">");
    return this;
  }

  public Xml close(String tag) {
    sb.append("</").append(tag).append('>');
    return this;
  }

  /** An element with text; nothing when the value is null. */
  public Xml leaf(String tag, Object value) {
    if (value == null) {
      return this;
    }
    String text = value instanceof Instant t ? DateTimeFormatter.ISO_INSTANT.format(t) : value.toString();
    open(tag);
    escape(text);
    return close(tag);
  }

  private void escape(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '&' -> sb.append("&amp;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&apos;");
        default -> {
          if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            sb.append("&#").append((int) c).append(';');
          } else {
            sb.append(c);
          }
        }
      }
    }
  }

  /**
   * A policy document as IAM returns it: URL-encoded (RFC 3986, spaces as %20), which the AWS CLI decodes back into
   * JSON and SDK users decode with a URL decoder.
   */
  static String urlEncoded(String document) {
    byte[] bytes = document.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length * 2);
    for (byte b : bytes) {
      int c = b & 0xFF;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
          || c == '.' || c == '~') {
        out.append((char) c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
      }
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return sb.toString();
  }
}
