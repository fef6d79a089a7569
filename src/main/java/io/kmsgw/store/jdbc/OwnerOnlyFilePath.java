package io.kmsgw.store.jdbc;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * H2's file system with one difference: every file it creates is mode 0600 and every directory 0700 from the
 * start, whatever the process umask (the embedded database holds key metadata, sealed PINs and sealed secrets).
 * H2 creates files through {@link FilePath#open}, {@link FilePath#newOutputStream}, {@link FilePath#createFile}
 * and {@link FilePath#createTempFile}; each of them here creates the file owner-only first, then lets H2's own
 * disk implementation open it. Used through the URL prefix {@value #SCHEME}{@code :} before an absolute path.
 */
public final class OwnerOnlyFilePath extends FilePathWrapper {
  static final String SCHEME = "kmsgwOwnerOnly";
  private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");

  static {
    FilePath.register(new OwnerOnlyFilePath());
  }

  /** H2 makes one instance per path through this constructor. */
  public OwnerOnlyFilePath() {}

  /** Registers the scheme with H2 (once per class loader; calling it again does nothing more). */
  static void register() {
    // the static initializer did it
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  private Path path() {
    return Path.of(getBase().toString());
  }

  /** Creates the file 0600 unless it exists; true when it was created here. */
  private boolean createOwnerOnly() throws IOException {
    Path p = path();
    try {
      Files.createFile(p, PosixFilePermissions.asFileAttribute(FILE));
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (UnsupportedOperationException e) {
      return false; // not a POSIX file system: H2 creates it as it would
    }
  }

  @Override
  public FileChannel open(String mode) throws IOException {
    if (mode.contains("w") && !exists()) {
      createOwnerOnly();
    }
    return super.open(mode);
  }

  @Override
  public OutputStream newOutputStream(boolean append) throws IOException {
    createOwnerOnly();
    return super.newOutputStream(append);
  }

  @Override
  public boolean createFile() {
    try {
      return createOwnerOnly();
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void createDirectory() {
    Path p = path();
    if (Files.isDirectory(p)) {
      return;
    }
    try {
      Files.createDirectory(p, PosixFilePermissions.asFileAttribute(DIRECTORY));
    } catch (FileAlreadyExistsException e) {
      // made meanwhile
    } catch (UnsupportedOperationException e) {
      super.createDirectory();
    } catch (IOException e) {
      throw new IllegalStateException("could not create the directory " + p, e);
    }
  }

  @Override
  public FilePath createTempFile(String suffix, boolean inTempDir) throws IOException {
    FilePath f = super.createTempFile(suffix, inTempDir);
    ownerOnly(Path.of(f.unwrap().toString()));
    return f;
  }

  /**
   * Sets an existing file to 0600 (a directory to 0700): files an older kmsgw created under a looser umask. A file
   * of another owner, or a file system without POSIX modes, is left as it is.
   */
  static void ownerOnly(Path p) {
    try {
      Files.setPosixFilePermissions(p, Files.isDirectory(p) ? DIRECTORY : FILE);
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      // reported by the caller's check of the directory, if at all
    }
  }
}
