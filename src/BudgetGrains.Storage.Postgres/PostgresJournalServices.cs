using BudgetGrains.Grains.Access;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Meters;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Postgres.Access;
using BudgetGrains.Storage.Postgres.Allocation;
using BudgetGrains.Storage.Postgres.Alerts;
using BudgetGrains.Storage.Postgres.Budget;
using BudgetGrains.Storage.Postgres.Meters;
using BudgetGrains.Storage.Postgres.Prices;
using BudgetGrains.Storage.Postgres.Reconciliation;
using BudgetGrains.Storage.Postgres.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Storage.Postgres;

/// <summary>Registers the PostgreSQL backend of the journal and the stores that read it.</summary>
public static class PostgresJournalServices
{
    /// <summary>The journal handlers of every component with tables in the database.</summary>
    public static IReadOnlyList<IPostgresJournalHandler> Handlers() =>
        [new PostgresBudgetJournal(), new PostgresAlertJournal(), new PostgresPriceJournal(), new PostgresAccessJournal(), new PostgresMeterJournal(),
            new PostgresTaskJournal()];

    /// <summary>Connects to the database and brings its schema up to date (see <see cref="PostgresJournalStore.OpenAsync"/>).</summary>
    public static Task<PostgresJournalStore> OpenAsync(string connectionString, ILogger? logger = null, CancellationToken cancellationToken = default,
        bool exclusive = true) =>
        PostgresJournalStore.OpenAsync(connectionString, Handlers(), logger: logger, cancellationToken: cancellationToken, exclusive: exclusive);

    /// <summary>The journal's backend and the read sides (counters and ledger, alerts, prices, keys and audit) over the same database. The
    /// caller owns <paramref name="store"/> and disposes it after the host, once the journal has flushed.</summary>
    public static IServiceCollection AddPostgresJournal(this IServiceCollection services, PostgresJournalStore store) => services
        // A factory, to hand the store the host's logger; the container then also disposes it (after the journal service,
        // which depends on it, has flushed), and the owner's own dispose after the host's is a no-op.
        .AddSingleton<IJournalStore>(provider =>
        {
            store.UseLogger(provider.GetRequiredService<ILoggerFactory>().CreateLogger<PostgresJournalStore>());
            return store;
        })
        .AddSingleton<IBudgetStore>(new PostgresBudgetStore(store.ReadSource))
        .AddSingleton<ILedgerExport>(new PostgresLedgerExport(store.ReadSource))
        .AddSingleton<IBillStore>(new PostgresBillStore(store.ReadSource))
        .AddSingleton<ISharedCostStore>(new PostgresSharedCostStore(store.ReadSource))
        .AddSingleton<ITaskStore>(new PostgresTaskStore(store.ReadSource))
        .AddSingleton<IAlertStore>(new PostgresAlertStore(store.ReadSource))
        .AddSingleton<IPriceStore>(new PostgresPriceStore(store.ReadSource))
        .AddSingleton<IMeterStore>(new PostgresMeterStore(store.ReadSource))
        .AddSingleton<IAccessStore>(new PostgresAccessStore(store.ReadSource));
}
