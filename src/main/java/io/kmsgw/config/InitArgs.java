package io.kmsgw.config;

import java.nio.file.Path;
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
 */
public final class InitArgs {
  /** The placeholder for the data directory. */
  public static final String DATA_DIR = "{data_dir}";

  private static final Pattern CONFIG_DIR =
      Pattern.compile("(?:^|\\s)configdir\\s*=\\s*(?:'([^']*)'|\"([^\"]*)\"|(\\S+))", Pattern.CASE_INSENSITIVE);

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
    if (nss && configDir(args).isEmpty()) {
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
   * The database directory named by {@code configdir} in an NSS parameter string, without its {@code sql:} or
   * {@code dbm:} prefix.
   */
  public static Optional<Path> configDir(String args) {
    if (args == null) {
      return Optional.empty();
    }
    Matcher m = CONFIG_DIR.matcher(args);
    if (!m.find()) {
      return Optional.empty();
    }
    String dir = m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3);
    dir = dir.replaceFirst("^(?i)(sql|dbm|extern|rdb|multiaccess):", "");
    return dir.isBlank() ? Optional.empty() : Optional.of(Path.of(dir));
  }
}
