using Npgsql;

namespace BudgetGrains.Storage.Postgres;

/// <summary>
/// The tables and named queries Orleans' ADO.NET clustering provider (Microsoft.Orleans.Clustering.AdoNet, invariant
/// "Npgsql") reads and writes, created in the journal's database by the project's own migration (component
/// "membership"). The provider's contract: an <c>OrleansQuery(QueryKey, QueryText)</c> table holding one statement per
/// key, with <c>@Name</c> parameters (10.4.2 sends no @MetadataJson: the column stays null), the inserts and updates
/// answering one integer (1 done, 0 refused because the table's version moved). docs/decisions/0027-cluster-membership.md.
/// </summary>
public static class PostgresMembership
{
    /// <summary>The provider's invariant name for Npgsql.</summary>
    public const string Invariant = "Npgsql";

    internal const string Component = "membership";

    internal static readonly IReadOnlyList<string> Migrations =
    [
        // Unquoted identifiers: PostgreSQL folds them to lower case, and so does every query below.
        """
        CREATE TABLE IF NOT EXISTS OrleansQuery(
            QueryKey varchar(64) PRIMARY KEY,
            QueryText varchar(8000) NOT NULL);
        CREATE TABLE OrleansMembershipVersionTable(
            DeploymentId varchar(150) PRIMARY KEY,
            Timestamp timestamptz(3) NOT NULL DEFAULT now(),
            Version integer NOT NULL DEFAULT 0);
        CREATE TABLE OrleansMembershipTable(
            DeploymentId varchar(150) NOT NULL REFERENCES OrleansMembershipVersionTable(DeploymentId),
            Address varchar(45) NOT NULL,
            Port integer NOT NULL,
            Generation integer NOT NULL,
            SiloName varchar(150) NOT NULL,
            HostName varchar(150) NOT NULL,
            Status integer NOT NULL,
            ProxyPort integer NULL,
            SuspectTimes varchar(8000) NULL,
            MetadataJson text NULL,
            StartTime timestamptz(3) NOT NULL,
            IAmAliveTime timestamptz(3) NOT NULL,
            PRIMARY KEY(DeploymentId, Address, Port, Generation));
        INSERT INTO OrleansQuery(QueryKey, QueryText) VALUES
        ('InsertMembershipVersionKey', '
            WITH inserted AS (
                INSERT INTO OrleansMembershipVersionTable(DeploymentId) VALUES(@DeploymentId)
                ON CONFLICT(DeploymentId) DO NOTHING RETURNING 1)
            SELECT count(*)::integer FROM inserted'),
        -- The new row and the version bump in one statement: the row goes in only if the version is still the one read.
        ('InsertMembershipKey', '
            WITH bumped AS (
                UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
                WHERE DeploymentId = @DeploymentId AND Version = @Version
                RETURNING DeploymentId),
            inserted AS (
                INSERT INTO OrleansMembershipTable(DeploymentId, Address, Port, Generation, SiloName, HostName, Status,
                    ProxyPort, StartTime, IAmAliveTime)
                SELECT DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
                    @ProxyPort, @StartTime, @IAmAliveTime FROM bumped
                ON CONFLICT(DeploymentId, Address, Port, Generation) DO NOTHING
                RETURNING 1)
            SELECT count(*)::integer FROM inserted'),
        ('UpdateMembershipKey', '
            WITH bumped AS (
                UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
                WHERE DeploymentId = @DeploymentId AND Version = @Version
                RETURNING DeploymentId),
            updated AS (
                UPDATE OrleansMembershipTable m
                SET Status = @Status, SuspectTimes = @SuspectTimes, IAmAliveTime = @IAmAliveTime
                FROM bumped
                WHERE m.DeploymentId = bumped.DeploymentId AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
                RETURNING 1)
            SELECT count(*)::integer FROM updated'),
        ('UpdateIAmAlivetimeKey', '
            UPDATE OrleansMembershipTable SET IAmAliveTime = @IAmAliveTime
            WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation'),
        ('MembershipReadRowKey', '
            SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
                m.SuspectTimes, m.MetadataJson, m.StartTime, m.IAmAliveTime, v.Version
            FROM OrleansMembershipVersionTable v
            LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
                AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
            WHERE v.DeploymentId = @DeploymentId'),
        ('MembershipReadAllKey', '
            SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
                m.SuspectTimes, m.MetadataJson, m.StartTime, m.IAmAliveTime, v.Version
            FROM OrleansMembershipVersionTable v
            LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
            WHERE v.DeploymentId = @DeploymentId'),
        ('DeleteMembershipTableEntriesKey', '
            DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
            DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId'),
        ('GatewaysQueryKey', '
            SELECT Address, ProxyPort, Generation FROM OrleansMembershipTable
            WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0'),
        ('CleanupDefunctSiloEntriesKey', '
            DELETE FROM OrleansMembershipTable
            WHERE DeploymentId = @DeploymentId AND IAmAliveTime < @IAmAliveTime AND Status != 3');
        """,
    ];

    /// <summary>Creates or upgrades the membership tables and queries in the database (several silos starting at once
    /// take turns, as for every component).</summary>
    public static async Task UpgradeAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(PostgresJournalStore.ParseConnectionString(connectionString).ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await PostgresSchema.UpgradeAsync(connection, Component, Migrations, cancellationToken);
    }
}
