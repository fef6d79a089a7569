package io.kmsgw.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP exchange over a raw socket, for requests no HTTP client would send (broken framing, no {@code Host},
 * oversized lines): the bytes go out as given, one answer is read back (Content-Length framed).
 */
public final class RawHttp {
  private RawHttp() {}

  /** An answer: its status, its headers by lower-case name, its body as UTF-8. */
  public record Answer(int status, Map<String, String> headers, String body) {}

  /** Sends {@code request} (ISO-8859-1 bytes) to 127.0.0.1:{@code port} and reads one answer. */
  public static Answer exchange(int port, String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
      } catch (java.net.SocketException e) {
        // a server may answer a body over its limit and close before reading the rest (413 at once, as the gateway
        // does): the write then breaks, and the answer is already in the socket's receive queue
        if (s.isClosed()) {
          throw e;
        }
      }
      InputStream in = s.getInputStream();
      String status = line(in);
      Map<String, String> headers = new HashMap<>();
      for (String l = line(in); !l.isEmpty(); l = line(in)) {
        int c = l.indexOf(':');
        headers.put(l.substring(0, c).trim().toLowerCase(Locale.ROOT), l.substring(c + 1).trim());
      }
      byte[] body = in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
      return new Answer(Integer.parseInt(status.split(" ")[1]), headers, new String(body, StandardCharsets.UTF_8));
    }
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }
}
