package io.kmsgw.api.http;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Locale;

/**
 * The names the gateway answers to ({@code http.hostnames}): a request whose {@code Host} is not one of them is
 * refused before its body is read or its signature checked. SigV4 signs {@code Host}, so a request signed for
 * another endpoint (another gateway sharing these credentials, say) cannot be replayed here (issue #15, 8c).
 * A name without a port matches any port; Host is compared case-insensitively (RFC 9110, 4.2.3). No names: any
 * Host is accepted.
 */
public final class HostNames implements Handler<RoutingContext> {
  private final List<String> names;

  /** @param names lower-case {@code host} or {@code host:port} entries, IPv6 addresses in brackets */
  public HostNames(List<String> names) {
    this.names = List.copyOf(names);
  }

  public boolean enabled() {
    return !names.isEmpty();
  }

  @Override
  public void handle(RoutingContext ctx) {
    List<String> hosts = ctx.request().headers().getAll("Host");
    if (hosts.size() == 1 && accepts(hosts.get(0))) {
      ctx.next();
      return;
    }
    String shown = hosts.size() != 1 ? hosts.size() + " Host headers" : "host '" + printable(hosts.get(0)) + "'";
    ctx.fail(new KmsException(ErrorCode.INVALID_SIGNATURE, "The request is addressed to " + shown
        + ", which is not a name this endpoint answers to; sign it for the endpoint's own name."));
  }

  /** Whether a Host header value names this gateway. */
  public boolean accepts(String host) {
    if (names.isEmpty()) {
      return true;
    }
    String h = host.strip().toLowerCase(Locale.ROOT);
    String name = h;
    int colon = h.startsWith("[") ? h.indexOf("]:") + 1 : h.indexOf(':');
    if (colon > 0 && h.indexOf(':', colon + 1) < 0) {
      name = h.substring(0, colon);
    }
    for (String n : names) {
      boolean hasPort = n.startsWith("[") ? n.contains("]:") : n.contains(":");
      if (hasPort ? n.equals(h) : n.equals(name)) {
        return true;
      }
    }
    return false;
  }

  /** Client text for a message: printable ASCII only, and short. */
  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < 100; i++) {
      char c = s.charAt(i);
      b.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return b.toString();
  }
}
