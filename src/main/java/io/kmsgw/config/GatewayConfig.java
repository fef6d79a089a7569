package io.kmsgw.config;

import java.nio.file.Path;

/**
 * The validated, immutable configuration. Built by {@link ConfigLoader} from the optional YAML file and
 * {@code KMSGW_*} environment variables.
 *
 * <p>{@code keyQuota}: keys per account (limits.keys_per_account). {@code devClockOffsetDays}: development mode
 * only, moves the lifecycle clock (rotation and deletion dates) forward, never the clock that checks signatures. Secrets (PINs, the admin secret, the database password) are held only as
 * given and never printed by {@link #toString()}.
 */
public record GatewayConfig(
    Path dataDir,
    String region,
    String accountId,
    Http http,
    Admin admin,
    Hsm hsm,
    Store store,
    java.util.List<HsmDefinition> clusters,
    java.util.List<Account> accounts,
    int keyQuota,
    int devClockOffsetDays,
    String logLevel,
    Audit audit,
    XksSettings xks) {

  /**
   * The main listener. {@code connections}: its idle and request deadlines and connection cap (also applied to the
   * XKS listener of its own); {@code hostnames}: the Host values a signed request may name, empty for any.
   */
  public record Http(String host, int port, Path tlsCertificate, Path tlsKey, Connections connections,
      java.util.List<String> hostnames) {
    public Http {
      hostnames = java.util.List.copyOf(hostnames);
    }

    public boolean tls() {
      return tlsCertificate != null;
    }

    public String endpoint() {
      String h = host.contains(":") ? "[" + host + "]" : host;
      return (tls() ? "https://" : "http://") + h + ":" + port;
    }
  }

  /**
   * Limits of each listener's connections: closed after {@code idleTimeoutMs} without traffic; a request's headers
   * and body must have arrived within {@code requestTimeoutMs} of its first byte (of the connection's opening, for
   * the first request); at most {@code maxConnections} open at once, more are refused at once.
   */
  public record Connections(int idleTimeoutMs, int requestTimeoutMs, int maxConnections) {}

  /** The bootstrap administrator; both null means generate (once) into the data directory. */
  public record Admin(String accessKeyId, String secretAccessKey) {
    @Override
    public String toString() {
      return "Admin[accessKeyId=" + accessKeyId + ", secretAccessKey=" + (secretAccessKey == null ? "unset" : "***")
          + "]";
    }
  }

  public record Hsm(
      VendorProfile vendor,
      String library,
      String tokenLabel,
      boolean devToken,
      String pin,
      Path pinFile,
      int poolSize,
      long borrowTimeoutMs,
      long callTimeoutMs,
      long validateAfterIdleMs,
      long initialBackoffMs,
      long maxBackoffMs,
      boolean gcmIvFromHsm,
      boolean gcmGeneralErrorOnTagMismatch,
      boolean sessionKeyCopies,
      String devPin,
      String initArgs,
      String devPinUser) implements TokenSettings {
    @Override
    public String toString() {
      return "Hsm[vendor=" + vendor + ", library=" + library + ", token=" + tokenLabel + ", devToken=" + devToken
          + ", pool=" + poolSize + "]";
    }
  }

  /**
   * A further account ({@code accounts:}) and its root's access key: an id with a secret or a secret file, or
   * neither (generated into the data directory).
   */
  public record Account(String id, String accessKeyId, String secretAccessKey, Path secretAccessKeyFile) {
    @Override
    public String toString() {
      return "Account[" + id + ", accessKeyId=" + accessKeyId + "]";
    }
  }

  /** {@code jdbcUrl} null means the embedded H2 file under the data directory. */
  public record Store(String jdbcUrl, String username, Path passwordFile) {}

  /**
   * The audit trail (docs/audit.md): its directory, file size limit, retention (0 keeps every file), how often a
   * digest is signed, the optional copies for a SIEM ({@code httpSinkUrl} null for none), and how far ahead of the
   * writer the file being written is extended with zeros (0: not at all), the free space of the audit directory
   * below which health shows {@code lowSpace} and the log warns ({@code lowSpaceMb}, 0: never), and
   * {@code maxFileKb}, when not 0, the file size limit in KiB instead of {@code maxFileMb} (small files make rotation
   * frequent, for tests).
   */
  public record Audit(Path dir, int maxFileMb, int retentionDays, int digestEveryEvents, int digestEverySeconds,
      boolean stdout, java.net.URI httpSinkUrl, int preallocateMb, int lowSpaceMb, int maxFileKb) {
    /** With the default low-space watermark (256 MiB) and size limit in MiB. */
    public Audit(Path dir, int maxFileMb, int retentionDays, int digestEveryEvents, int digestEverySeconds,
        boolean stdout, java.net.URI httpSinkUrl, int preallocateMb) {
      this(dir, maxFileMb, retentionDays, digestEveryEvents, digestEverySeconds, stdout, httpSinkUrl, preallocateMb,
          256, 0);
    }

    /** The size at which a file is rotated. */
    public long maxFileBytes() {
      return maxFileKb > 0 ? (long) maxFileKb << 10 : (long) maxFileMb << 20;
    }
  }
}
