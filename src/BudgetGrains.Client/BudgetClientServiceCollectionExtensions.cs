using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BudgetGrains.Client;

/// <summary>Registers the BudgetGrains SDK in a service collection.</summary>
public static class BudgetClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BudgetClient"/> as a singleton (one connection pool per application), configured by
    /// <paramref name="configure"/> and logging through the container's <see cref="ILoggerFactory"/> when there is one.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options, e.g. <c>o => o.Address = new Uri("http://127.0.0.1:5080")</c>.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddBudgetGrainsClient(this IServiceCollection services, Action<BudgetClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<BudgetClientOptions>().Configure(configure);
        services.TryAddSingleton(provider => new BudgetClient(
            provider.GetRequiredService<IOptions<BudgetClientOptions>>().Value,
            provider.GetService<ILoggerFactory>()?.CreateLogger<BudgetClient>()));
        return services;
    }
}
