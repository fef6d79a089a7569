package io.kmsgw.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code init_args} ({@code hsm.init_args}, {@code clusters.<id>.init_args}): a parameter string some PKCS#11
 * libraries read from {@code C_Initialize}'s {@code CK_C_INITIALIZE_ARGS.pReserved}. NSS's software token
 * ({@code libsoftokn3.so}) takes its database there, e.g.
 * {@code configdir='sql:{data_dir}/nss' certPrefix='' keyPrefix='' secmod='secmod.db' flags=optimizeSpace}.
 * {@code {data_dir}} is replaced by the data directory's absolute path.
 *
 * <p>NSS's softoken crashes the process when given parameters without {@code configdir} and refuses to initialise
 * without parameters, so for NSS a string naming {@code configdir} is required here, before any library is loaded.
 * And since a string that only looks as if it named one crashes it just the same, the string is read here as NSS
 * reads it, for NSS (nss/lib/util/utilpars.c: a name directly followed by {@code =}, names without regard to case, a value
 * either quoted or running to the next blank), in a strict subset of that grammar: {@code name=value},
 * {@code name='value'} or {@code name="value"}, separated by blanks, no blank around {@code =}, no backslash, and
 * no value starting with one of NSS's other opening brackets ({@code { [ ( <}). Anything else is refused rather
 * than guessed at, after {@code {data_dir}} is replaced, so a data directory whose path would change the parse
 * (a quote, a blank) is refused too.
 */
public final class InitArgs {
  /** The placeholder for the data directory. */
  public static final String DATA_DIR = "{data_dir}";

  /** One parameter: a name, {@code =}, and a quoted or bare value (groups 2, 3, 4), then blanks or the end. */
  private static final Pattern PARAMETER =
      Pattern.compile("([A-Za-z][A-Za-z0-9_]*)=(?:'([^'\\\\]*)'|\"([^\"\\\\]*)\"|([^\\s'\"\\\\{\\[(<][^\\s'\"\\\\]*)?)(?=\\s|$)");

  /** A parameter of the string. */
  record Parameter(String name, String value) {}

  private InitArgs() {}

  /**
   * The parameter string to pass, or null for none; problems are added to {@code errors}, prefixed with
   * {@code key}.
   */
  static String parse(String raw, Path dataDir, VendorProfile vendor, String library, String key,
      List<String> errors) {
    boolean nss = isNss(vendor, library);
    if (raw == null || raw.isBlank()) {
      if (nss) {
        errors.add(key + ": NSS's software token needs its database in init_args, e.g. "
            + "configdir='sql:{data_dir}/nss' certPrefix='' keyPrefix='' secmod='secmod.db' flags=optimizeSpace");
      }
      return null;
    }
    if (raw.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      errors.add(key + ": control characters (line breaks, NUL) are not accepted");
      return null;
    }
    String args = raw.strip().replace(DATA_DIR, dataDir.toAbsolutePath().normalize().toString());
    if (!nss) {
      return args; // another vendor's string: its own grammar, passed as written
    }
    Optional<List<Parameter>> parameters = parameters(args);
    if (parameters.isEmpty()) {
      errors.add(key + ": cannot be read as NSS reads it: write name=value, name='value' or name=\"value\" separated "
          + "by blanks, with no blank around '=' and no backslash"
          + (raw.contains(DATA_DIR) ? " (the data directory's path, put in for " + DATA_DIR + ", counts too)" : ""));
      return null;
    }
    if (configDir(parameters.get()).isEmpty()) {
      // NSS's softoken dereferences a missing configdir and takes the process down: refused before it is loaded
      errors.add(key + ": NSS's software token needs configdir='sql:DIRECTORY' in init_args (without it NSS "
          + "crashes the process)");
      return null;
    }
    return args;
  }

  /** The vendor profile is NSS's, or the library is NSS's software token under any profile. */
  static boolean isNss(VendorProfile vendor, String library) {
    String name = library == null ? "" : Path.of(library).getFileName() == null ? ""
        : Path.of(library).getFileName().toString().toLowerCase(Locale.ROOT);
    return vendor == VendorProfile.NSS || name.startsWith("libsoftokn3");
  }

  /**
   * The parameters of a string, in order; empty when the string is not in the grammar this class accepts (see the
   * class comment).
   */
  static Optional<List<Parameter>> parameters(String args) {
    List<Parameter> out = new ArrayList<>();
    int at = 0;
    String s = args.strip();
    Matcher m = PARAMETER.matcher(s);
    while (at < s.length()) {
      if (!m.find(at) || m.start() != at) {
        return Optional.empty();
      }
      String value = m.group(2) != null ? m.group(2) : m.group(3) != null ? m.group(3)
          : m.group(4) != null ? m.group(4) : "";
      out.add(new Parameter(m.group(1), value));
      at = m.end();
      while (at < s.length() && Character.isWhitespace(s.charAt(at))) {
        at++;
      }
    }
    return Optional.of(out);
  }

  /**
   * The database directory named by {@code configdir} in an NSS parameter string, without its {@code sql:} or
   * {@code dbm:} prefix; empty when the string names none (or is not one this class accepts).
   */
  public static Optional<Path> configDir(String args) {
    return args == null ? Optional.empty() : parameters(args).flatMap(InitArgs::configDir);
  }

  /** NSS takes the first parameter of a name, whatever its case. */
  private static Optional<Path> configDir(List<Parameter> parameters) {
    for (Parameter p : parameters) {
      if (p.name().equalsIgnoreCase("configdir")) {
        String dir = p.value().replaceFirst("^(?i)(sql|dbm|extern|rdb|multiaccess):", "");
        return dir.isBlank() ? Optional.empty() : Optional.of(Path.of(dir));
      }
    }
    return Optional.empty();
  }
}
