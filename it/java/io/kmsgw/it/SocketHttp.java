package io.kmsgw.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Locale;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/**
 * HTTP/1.1 written by hand over one kept-alive socket to the gateway, each request signed by the AWS SDK's own SigV4
 * signer for whatever Host the test names (so a request can be signed for another endpoint than the one it reaches,
 * and a connection opened earlier can be used when the gateway can accept no new one).
 */
final class SocketHttp implements AutoCloseable {
  record Response(int status, String body) {}

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  SocketHttp(int port) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    socket.setSoTimeout(30_000);
    in = socket.getInputStream();
    out = socket.getOutputStream();
  }

  /** A KMS JSON request signed for {@code host} (such as {@code 127.0.0.1:8400}). */
  Response kms(String host, String operation, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    SdkHttpRequest request = SdkHttpRequest.builder()
        .method(SdkHttpMethod.POST)
        .uri(URI.create("http://" + host + "/"))
        .putHeader("Content-Type", "application/x-amz-json-1.1")
        .putHeader("X-Amz-Target", "TrentService." + operation)
        .build();
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(GatewayProcess.ACCESS_KEY_ID, GatewayProcess.SECRET))
            .request(request)
            .payload(ContentStreamProvider.fromByteArray(body))
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "kms")
            .putProperty(AwsV4HttpSigner.REGION_NAME, GatewayProcess.REGION)
            .putProperty(software.amazon.awssdk.http.auth.spi.signer.HttpSigner.SIGNING_CLOCK, Clock.systemUTC()))
        .request();
    StringBuilder head = new StringBuilder("POST / HTTP/1.1\r\n");
    signed.headers().forEach((k, values) -> values.forEach(v -> head.append(k).append(": ").append(v).append("\r\n")));
    if (signed.firstMatchingHeader("Host").isEmpty()) {
      head.append("Host: ").append(host).append("\r\n");
    }
    head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
    out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
    out.flush();
    return read();
  }

  /** {@code GET path} on this connection. */
  Response get(String path) throws IOException {
    out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    return read();
  }

  private Response read() throws IOException {
    String status = line();
    if (status == null) {
      throw new IOException("the connection was closed before an answer");
    }
    int length = 0;
    for (String l = line(); l != null && !l.isEmpty(); l = line()) {
      if (l.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(l.substring("content-length:".length()).trim());
      }
    }
    byte[] body = in.readNBytes(length);
    return new Response(Integer.parseInt(status.split(" ")[1]), new String(body, StandardCharsets.UTF_8));
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
