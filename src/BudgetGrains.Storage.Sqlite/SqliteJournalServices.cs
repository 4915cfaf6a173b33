using BudgetGrains.Grains.Access;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Meters;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Sqlite.Access;
using BudgetGrains.Storage.Sqlite.Allocation;
using BudgetGrains.Storage.Sqlite.Alerts;
using BudgetGrains.Storage.Sqlite.Budget;
using BudgetGrains.Storage.Sqlite.Meters;
using BudgetGrains.Storage.Sqlite.Prices;
using BudgetGrains.Storage.Sqlite.Reconciliation;
using BudgetGrains.Storage.Sqlite.Tasks;
using Microsoft.Extensions.DependencyInjection;

namespace BudgetGrains.Storage.Sqlite;

/// <summary>Registers the SQLite backend of the journal and the stores that read it.</summary>
public static class SqliteJournalServices
{
    /// <summary>Opens (or creates) the database file with the schema of every journal handler.</summary>
    public static SqliteJournalStore Open(string databasePath) =>
        new(databasePath, [new SqliteBudgetJournal(), new SqliteAlertJournal(), new SqlitePriceJournal(), new SqliteAccessJournal(), new SqliteMeterJournal(),
            new SqliteTaskJournal()]);

    /// <summary>The journal's backend and the read sides (counters and ledger, alerts, prices) over the same file. The
    /// caller owns <paramref name="store"/> and disposes it after the host, once the journal has flushed.</summary>
    public static IServiceCollection AddSqliteJournal(this IServiceCollection services, SqliteJournalStore store) => services
        .AddSingleton<IJournalStore>(store)
        .AddSingleton<IBudgetStore>(new SqliteBudgetStore(store.OpenReadConnection))
        .AddSingleton<ILedgerReader>(new SqliteLedgerReader(store.OpenReadConnection))
        .AddSingleton<ILedgerExport>(new SqliteLedgerExport(store.OpenReadConnection))
        .AddSingleton<IBillStore>(new SqliteBillStore(store.DatabasePath, store.OpenReadConnection))
        .AddSingleton<ISharedCostStore>(new SqliteSharedCostStore(store.DatabasePath, store.OpenReadConnection))
        .AddSingleton<ITaskStore>(new SqliteTaskStore(store.OpenReadConnection))
        .AddSingleton<IAlertStore>(new SqliteAlertStore(store.OpenReadConnection))
        .AddSingleton<IPriceStore>(new SqlitePriceStore(store.OpenReadConnection))
        .AddSingleton<IMeterStore>(new SqliteMeterStore(store.OpenReadConnection))
        .AddSingleton<IAccessStore>(new SqliteAccessStore(store.OpenReadConnection));
}
