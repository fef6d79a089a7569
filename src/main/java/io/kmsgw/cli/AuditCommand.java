package io.kmsgw.cli;

import io.kmsgw.audit.AuditVerifier;
import io.kmsgw.config.ConfigException;
import io.kmsgw.config.ConfigLoader;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code kmsgw audit verify [DIR]}: checks the audit trail offline (no HSM, no running gateway needed). */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Work with the audit trail.",
    subcommands = {AuditCommand.Verify.class})
final class AuditCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("kmsgw audit: say verify [DIR]");
    return 2;
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = {"Check every chain link and digest signature of the audit files and name the first bad record.",
          "Exit code: 0 every record valid and covered by a signed digest; 1 a problem (tampering or damage); "
              + "2 valid, but the last records are not yet covered by a digest (the gateway is running or crashed, "
              + "or the last digest was removed)."})
  static final class Verify implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "DIR",
        description = "the audit directory (default: audit.dir of the configuration, <data_dir>/audit)")
    Path dir;

    @Option(names = "--config", paramLabel = "FILE", description = "the gateway's YAML configuration, to find DIR")
    Path config;

    @Option(names = "--trust", paramLabel = "FINGERPRINT",
        description = "SHA-256 fingerprint of a trusted signing key, as the gateway logs it at start-up "
            + "(repeatable); without it the first digest's key is trusted and every later one must match")
    List<String> trust = List.of();

    @Override
    public Integer call() throws Exception {
      PrintStream out = System.out;
      Path target = dir;
      if (target == null) {
        try {
          target = ConfigLoader.load(config, System.getenv()).audit().dir();
        } catch (ConfigException e) {
          System.err.println("kmsgw audit verify: cannot read the configuration to find the audit directory ("
              + e.getMessage() + "); name the directory");
          return 1;
        }
      }
      Set<String> trusted = new LinkedHashSet<>();
      trust.forEach(t -> trusted.add(t.replace(":", "").toLowerCase(Locale.ROOT)));
      AuditVerifier.Report r = AuditVerifier.verify(target, trusted);
      out.println("audit trail in " + target);
      for (AuditVerifier.FileResult f : r.files()) {
        out.printf("  %-28s %8d lines  seq %s..%s  %s%n", f.name(), f.lines(), f.firstSeq(), f.lastSeq(),
            f.valid() ? "valid" : "INVALID");
      }
      r.notes().forEach(n -> out.println("note: " + n));
      if (!r.fingerprints().isEmpty()) {
        out.println("digests signed by: " + String.join(", ", r.fingerprints()));
      }
      if (!r.problems().isEmpty()) {
        out.println("FIRST BAD RECORD: " + r.firstProblem());
        r.problems().stream().skip(1).limit(50).forEach(p -> out.println("  then: " + p));
        if (r.problemCount() > 51) {
          out.println("  ... and " + (r.problemCount() - 51) + " more");
        }
      }
      if (r.notCovered() != null) {
        out.println("NOT YET COVERED: " + r.notCovered());
      }
      switch (r.exitCode()) {
        case 0 -> out.println("VALID: " + r.records() + " records, " + r.digests() + " digests; every record is "
            + "covered by a verified signature");
        case 2 -> out.println("VALID SO FAR: " + r.records() + " records, " + r.digests() + " digests; the last "
            + "records are not yet covered by a digest");
        default -> out.println("INVALID: " + r.problemCount() + " problem(s)");
      }
      return r.exitCode();
    }
  }
}
