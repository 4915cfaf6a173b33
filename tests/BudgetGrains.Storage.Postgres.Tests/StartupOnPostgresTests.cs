using BudgetGrains.Server.Tests;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>The executable with --storage postgres: a bad setting or an unreachable database is one error line and exit 1,
/// as every start-up failure is (decision 0016); a second silo on the database is refused naming the first.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StartupOnPostgresTests(PostgresFixture postgres) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("budgetgrains-pg-start-").FullName;

    [SkippableFact]
    public async Task BadStorageSettingsAreOneErrorLine()
    {
        await postgres.NewDatabaseAsync();
        Assert.Contains("BudgetGrains:Storage 'mysql' is not a storage kind",
            ErrorLine(await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--storage", "mysql")), StringComparison.Ordinal);
        Assert.Contains("BudgetGrains:PostgresConnectionString is empty",
            ErrorLine(await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--storage", "postgres")), StringComparison.Ordinal);
        Assert.Contains("PostgreSQL at 127.0.0.1:1 database 'none' could not be opened for the journal",
            ErrorLine(await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--storage", "postgres",
                "--postgres", "Host=127.0.0.1;Port=1;Database=none;Username=postgres;Timeout=2")), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ASecondSiloOnTheDatabaseIsRefused()
    {
        var database = await postgres.NewDatabaseAsync();
        using var first = await ServerProcess.StartAsync(Path.Combine(_root, "first"), "--storage", "postgres", "--postgres", database);
        var second = await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--data-dir", Path.Combine(_root, "second"),
            "--storage", "postgres", "--postgres", database);
        Assert.Contains("holds its writer lock", ErrorLine(second), StringComparison.Ordinal);
    }

    private static string ErrorLine(ServerExit exit)
    {
        Assert.Equal(1, exit.ExitCode);
        var error = Assert.Single(exit.Errors);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        return error;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
