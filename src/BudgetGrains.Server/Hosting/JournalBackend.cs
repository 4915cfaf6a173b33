using BudgetGrains.Grains.Access;
using BudgetGrains.Storage.Postgres;
using BudgetGrains.Storage.Postgres.Access;
using BudgetGrains.Storage.Sqlite;
using BudgetGrains.Storage.Sqlite.Access;

namespace BudgetGrains.Server.Hosting;

/// <summary>
/// The journal's backend chosen by <see cref="SiloOptions.Storage"/>: the embedded SQLite file in DataDir (the default),
/// or a PostgreSQL database shared by the silos of a cluster (docs/decisions/0017-postgres-journal.md).
/// </summary>
/// <param name="Store">The opened store; the silo disposes it after the host, once the journal has flushed.</param>
/// <param name="Register">Adds the journal's backend and its read sides to the silo's services.</param>
/// <param name="Description">Where the journal is, for the ready line (a path, or host:port/database).</param>
/// <param name="Access">The stored keys and the audit log, read before the host is built (is there an admin key?).</param>
internal sealed record JournalBackend(IAsyncDisposable Store, Func<IServiceCollection, IServiceCollection> Register, string Description,
    IAccessStore Access)
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary>Opens the configured backend; a bad setting or an unreachable database is an InvalidOperationException
    /// whose message names the setting (the executable prints it and exits).</summary>
    public static async Task<JournalBackend> OpenAsync(SiloOptions options, ClusterProfile profile, CancellationToken cancellationToken)
    {
        var kind = string.IsNullOrWhiteSpace(options.Storage) ? Sqlite : options.Storage.Trim().ToLowerInvariant();
        switch (kind)
        {
            case Sqlite:
                if (options.Cluster)
                    throw new InvalidOperationException("BudgetGrains:Cluster needs BudgetGrains:Storage postgres: the embedded SQLite store serves one silo");
                Directory.CreateDirectory(Path.GetDirectoryName(options.DatabasePath)!);
                var sqlite = SqliteJournalServices.Open(options.DatabasePath);
                return new(sqlite, services => services.AddSqliteJournal(sqlite), options.DatabasePath, new SqliteAccessStore(sqlite.OpenReadConnection));
            case Postgres:
                if (string.IsNullOrWhiteSpace(options.PostgresConnectionString))
                    throw new InvalidOperationException(
                        "BudgetGrains:Storage is postgres but BudgetGrains:PostgresConnectionString is empty: give one with --postgres " +
                        "'Host=127.0.0.1;Port=5432;Database=budgetgrains;Username=budgetgrains' (or BudgetGrains__PostgresConnectionString)");
                var where = ParseConnectionString(options.PostgresConnectionString);
                if (options.Cluster && profile.Membership == MembershipStore.Postgres) await PostgresMembership.UpgradeAsync(options.PostgresConnectionString, cancellationToken);
                var postgres = await PostgresJournalServices.OpenAsync(options.PostgresConnectionString, cancellationToken: cancellationToken,
                    exclusive: !options.Cluster);
                return new(postgres, services => services.AddPostgresJournal(postgres), $"postgres://{where.Host}:{where.Port}/{where.Database}",
                    new PostgresAccessStore(postgres.ReadSource));
            default:
                throw new InvalidOperationException($"BudgetGrains:Storage '{options.Storage}' is not a storage kind: use {Sqlite} (the default) or {Postgres}");
        }
    }

    /// <summary>The connection string parsed; a malformed one is an error naming the setting.</summary>
    private static Npgsql.NpgsqlConnectionStringBuilder ParseConnectionString(string connectionString)
    {
        try
        {
            return PostgresJournalStore.ParseConnectionString(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"BudgetGrains:PostgresConnectionString: {e.Message}", e);
        }
    }
}
