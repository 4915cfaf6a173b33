using System.Diagnostics;
using System.Globalization;

namespace BudgetGrains.Server.Hosting;

/// <summary>A second silo on a data directory that another silo holds; the message names the other process.</summary>
public sealed class DataDirectoryInUseException(string message) : InvalidOperationException(message);

/// <summary>
/// I6, one writer per store: an OS-level exclusive lock on <c>silo.lock</c> in the data directory, held for the silo's
/// whole life, so that a second silo on the same directory refuses to start instead of admitting the same money twice.
/// On Linux and macOS, .NET takes <c>FileShare.None</c> as <c>flock(LOCK_EX)</c>, which excludes every other open of the
/// file, in this process or another; on Windows it is a share-mode lock. The OS drops the lock with the process, so a
/// silo killed with SIGKILL leaves nothing to clean up. Details in docs/decisions/0015-one-silo-per-data-directory.md.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "silo.lock";

    /// <summary>The holder's pid, start time and address, readable while the lock is held: a file under flock cannot be
    /// read through .NET by anyone else (every FileStream takes a shared flock), so the holder writes them here too.</summary>
    public const string HolderFileName = "silo.holder";

    private FileStream? _file;
    private readonly string _holderPath;

    private DataDirectoryLock(FileStream file, string holderPath) => (_file, _holderPath) = (file, holderPath);

    /// <summary>Takes the data directory (creating it if missing) and checks that its database can be written; throws
    /// <see cref="DataDirectoryInUseException"/> when another silo holds it.</summary>
    public static DataDirectoryLock Acquire(SiloOptions options)
    {
        var directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.DataDir));
        if (LockingTurnedOff())
            throw new InvalidOperationException("file locking is turned off (DOTNET_SYSTEM_IO_DISABLEFILELOCKING or System.IO.DisableFileLocking), " +
                "and the silo needs it to be the only writer of its data directory; remove the setting");
        if (File.Exists(directory))
            throw new InvalidOperationException($"data directory {directory} is a file, not a directory; choose another --data-dir");
        Directory.CreateDirectory(directory);
        var holderPath = Path.Combine(directory, HolderFileName);
        FileStream file;
        try
        {
            file = new FileStream(Path.Combine(directory, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            throw new DataDirectoryInUseException($"data directory {directory} is in use by another silo ({DescribeHolder(holderPath)}); " +
                "stop it or choose another --data-dir");
        }

        try
        {
            WriteHolder(file, holderPath, options.Listen);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        var taken = new DataDirectoryLock(file, holderPath);
        try
        {
            StoreCheck.EnsureWritable(options.DatabasePath);
        }
        catch
        {
            taken.Dispose();
            throw;
        }
        return taken;
    }

    /// <summary>For a silo that has started: the lock moves to the silo (this one no longer releases it when disposed),
    /// and the holder's details get the address it is bound to (a port 0 is a real one now).</summary>
    public DataDirectoryLock Keep(string listening)
    {
        var file = Interlocked.Exchange(ref _file, null) ?? throw new ObjectDisposedException(nameof(DataDirectoryLock));
        try
        {
            WriteHolder(file, _holderPath, listening);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The details of the start stay; the lock is what matters.
        }
        return new DataDirectoryLock(file, _holderPath);
    }

    /// <summary>The lock file says who holds it (cat ignores the advisory lock); the holder file says it to other silos.</summary>
    private static void WriteHolder(FileStream file, string holderPath, string listening)
    {
        var holder = string.Create(CultureInfo.InvariantCulture,
            $"pid={Environment.ProcessId}\nstarted={Process.GetCurrentProcess().StartTime.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}\nlisten={listening}\nhost={Environment.MachineName}\n");
        file.SetLength(0);
        file.Write(System.Text.Encoding.UTF8.GetBytes(holder));
        file.Flush();
        var temporary = holderPath + ".tmp";
        File.WriteAllText(temporary, holder);
        File.Move(temporary, holderPath, overwrite: true);
    }

    /// <summary>Releases the directory: the holder file goes first, so that it never names a silo that is gone.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _file, null) is not { } file) return;
        try
        {
            File.Delete(_holderPath);
            file.SetLength(0);
        }
        catch (IOException)
        {
            // Stale details are harmless: the next holder rewrites them.
        }
        catch (UnauthorizedAccessException)
        {
        }
        file.Dispose();
    }

    /// <summary>"pid 1234, started ..., listening on ..." from the holder file, or what is known without it.</summary>
    private static string DescribeHolder(string holderPath)
    {
        Dictionary<string, string> fields;
        try
        {
            fields = File.ReadAllLines(holderPath)
                .Select(line => line.Split('=', 2))
                .Where(pair => pair.Length == 2)
                .GroupBy(pair => pair[0], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"pid unknown: {FileName} is locked but {HolderFileName} cannot be read";
        }
        if (!fields.TryGetValue("pid", out var pid)) return $"pid unknown: {HolderFileName} names no process";
        var described = $"pid {pid}";
        if (fields.TryGetValue("started", out var started)) described += $", started {started}";
        if (fields.TryGetValue("listen", out var listen)) described += $", listening on {listen}";
        if (fields.TryGetValue("host", out var host) && !host.Equals(Environment.MachineName, StringComparison.Ordinal)) described += $", on host {host}";
        return described;
    }

    /// <summary>EWOULDBLOCK from flock (Linux 11, macOS 35) or ERROR_SHARING_VIOLATION on Windows.</summary>
    private static bool IsSharingViolation(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 32 or 33 : e.HResult is 11 or 35;

    private static bool LockingTurnedOff() =>
        (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var off) && off)
        || Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is "1" or "true" or "TRUE" or "True";
}
