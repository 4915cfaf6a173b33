namespace BudgetGrains.Grpc;

/// <summary>The answer to a unary call with its response trailers.</summary>
/// <typeparam name="TResponse">The response message type.</typeparam>
/// <param name="Message">The response message.</param>
/// <param name="Trailers">Trailing metadata other than grpc-status and grpc-message, by lower-case name.</param>
public sealed record UnaryResponse<TResponse>(TResponse Message, IReadOnlyDictionary<string, string> Trailers);
