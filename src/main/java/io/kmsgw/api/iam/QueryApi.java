package io.kmsgw.api.iam;

import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.StrictUtf8;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The IAM and STS Query APIs: {@code POST /} with a form body ({@code Action=CreateUser&Version=2010-05-08&...}),
 * XML answers. Parses the form, checks the action, its version and its parameters (a parameter kmsgw does not
 * support is refused, never ignored), runs the action and wraps its result as
 * {@code <ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>...}.
 */
public final class QueryApi {
  /** The two Query services, with their API version and XML namespace. */
  public enum Service {
    IAM("iam", "2010-05-08", "https://iam.amazonaws.com/doc/2010-05-08/"),
    STS("sts", "2011-06-15", "https://sts.amazonaws.com/doc/2011-06-15/");

    public final String signingName;
    final String version;
    final String namespace;

    Service(String signingName, String version, String namespace) {
      this.signingName = signingName;
      this.version = version;
      this.namespace = namespace;
    }

    public static Service bySigningName(String name) {
      for (Service s : values()) {
        if (s.signingName.equals(name)) {
          return s;
        }
      }
      return null;
    }
  }

  /** One action: its parameters and what it does; the result writes the inside of the Result element, or null. */
  record Action(Set<String> parameters, Handler handler) {}

  @FunctionalInterface
  interface Handler {
    CompletableFuture<Consumer<Xml>> run(Caller caller, Params params);
  }

  /** The decoded form parameters of a request. */
  record Params(Map<String, String> values) {
    String get(String name) {
      return values.get(name);
    }

    Integer integer(String name) {
      String v = values.get(name);
      if (v == null) {
        return null;
      }
      try {
        return Integer.valueOf(v.strip());
      } catch (NumberFormatException e) {
        throw KmsException.validation("1 validation error detected: Value '" + v + "' at '" + name
            + "' failed to satisfy constraint: Member must be a whole number");
      }
    }
  }

  private final Map<Service, Map<String, Action>> actions;

  public QueryApi(Map<String, Action> iam, Map<String, Action> sts) {
    this.actions = Map.of(Service.IAM, Map.copyOf(iam), Service.STS, Map.copyOf(sts));
  }

  /** The IAM and STS actions kmsgw implements, by service. */
  public Map<Service, Set<String>> implemented() {
    Map<Service, Set<String>> out = new HashMap<>();
    actions.forEach((s, a) -> out.put(s, Set.copyOf(a.keySet())));
    return out;
  }

  /** Which service a form body is for when the request carries no signature to tell (only its error says so). */
  public static Service guessService(byte[] body) {
    String action = actionOf(body);
    return "AssumeRole".equals(action) || "GetCallerIdentity".equals(action) ? Service.STS : Service.IAM;
  }

  /** The action a body names, for the request log and the audit trail; "-" when none or the form is malformed. */
  public static String actionOf(byte[] body) {
    Map<String, String> form = form(body);
    String action = form == null ? null : form.get("Action");
    // read before the signature is checked, for the request log: only something shaped like an action name
    return action != null && action.length() <= 64 && action.chars().allMatch(Character::isLetter) ? action : "-";
  }

  /** Runs a verified request; the future's value is the XML answer (HTTP 200), its failure a KmsException. */
  public CompletableFuture<String> invoke(Service service, Caller caller, byte[] body, String requestId) {
    Map<String, String> form = parseForm(body);
    String name = form.get("Action");
    if (name == null || name.isEmpty()) {
      throw new KmsException(ErrorCode.UNKNOWN_OPERATION, "Missing Action parameter.");
    }
    String version = form.get("Version");
    Action action = actions.get(service).get(name);
    if (action == null || (version != null && !version.equals(service.version))) {
      throw new KmsException(ErrorCode.UNKNOWN_OPERATION, "Could not find operation " + name + " for version "
          + (version == null ? service.version : version) + (action == null ? " (kmsgw implements "
          + String.join(", ", new java.util.TreeSet<>(actions.get(service).keySet())) + ")" : ""));
    }
    for (String p : form.keySet()) {
      if (!p.equals("Action") && !p.equals("Version") && !action.parameters().contains(p)) {
        String member = p.contains(".") ? p.substring(0, p.indexOf('.')) : p;
        throw KmsException.validation("kmsgw does not support the parameter " + member + " of " + name);
      }
    }
    return action.handler().run(caller, new Params(form)).thenApply(result -> {
      Xml x = new Xml().open(name + "Response", service.namespace);
      if (result != null) {
        x.open(name + "Result");
        result.accept(x);
        x.close(name + "Result");
      }
      return x.open("ResponseMetadata").leaf("RequestId", requestId).close("ResponseMetadata")
          .close(name + "Response").toString();
    });
  }

  /** The error answer for a Query request. */
  public static QueryErrors.Rendered error(Service service, KmsException e, String requestId) {
    return QueryErrors.render(service, e, requestId);
  }

  /** The form's parameters (for the audit trail, which keeps only its allowlisted, non-secret ones); null if malformed. */
  public static Map<String, String> form(byte[] body) {
    try {
      return parseForm(body);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** {@code application/x-www-form-urlencoded}: name=value pairs, {@code +} as space, %XX as UTF-8 bytes. */
  static Map<String, String> parseForm(byte[] body) {
    Map<String, String> out = new HashMap<>();
    String s = utf8(body, 0, body.length);
    for (String pair : s.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      if (out.putIfAbsent(name, value) != null) {
        throw KmsException.validation("The parameter " + name + " is given more than once.");
      }
    }
    return out;
  }

  private static String decode(String s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '+') {
        out.write(' ');
        i++;
      } else if (c == '%') {
        if (i + 2 >= s.length()
            || Character.digit(s.charAt(i + 1), 16) < 0 || Character.digit(s.charAt(i + 2), 16) < 0) {
          throw new KmsException(ErrorCode.SERIALIZATION, "The request body is not valid form encoding.");
        }
        out.write((Character.digit(s.charAt(i + 1), 16) << 4) | Character.digit(s.charAt(i + 2), 16));
        i += 3;
      } else {
        int cp = s.codePointAt(i);
        out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
        i += Character.charCount(cp);
      }
    }
    return utf8(out.toByteArray(), 0, out.size());
  }

  /** Both the body and each %XX-decoded value must be well-formed UTF-8 (an overlong C0 AF is not "/"). */
  private static String utf8(byte[] bytes, int offset, int length) {
    try {
      return StrictUtf8.decode(bytes, offset, length);
    } catch (StrictUtf8.Malformed e) {
      throw new KmsException(ErrorCode.SERIALIZATION, "The request body is not well-formed UTF-8.");
    }
  }

  static Set<String> params(String... names) {
    return Set.copyOf(List.of(names));
  }
}
