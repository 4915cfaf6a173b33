using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;

namespace BudgetGrains.Cli.Commands;

/// <summary>The <c>import</c> subcommand of <c>prices</c> and <c>meters</c>: a file that is the import rpc's request in
/// protobuf JSON, sent as one all-or-none call. A file that does not parse, or that the server refuses, imports nothing
/// and says why.</summary>
internal static class FileImport
{
    /// <param name="what">What the file holds, for messages: "price", "meter".</param>
    public static Command Create<TRequest, TResponse>(GlobalOptions globals, Terminal terminal, string what, string fileDescription, string description,
        Func<Session, TRequest, CallOptions, Task<TResponse>> send, Action<Output, string, TResponse> print)
        where TRequest : IMessage<TRequest>, new()
    {
        var file = new Argument<FileInfo>("file") { Description = fileDescription };
        var command = new Command("import", description) { file };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetRequiredValue(file);
            TRequest request;
            try
            {
                request = JsonParser.Default.Parse<TRequest>(await File.ReadAllTextAsync(path.FullName, cancellationToken));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidProtocolBufferException or InvalidJsonException)
            {
                Cli.PrintError(terminal, $"{path.Name} is not a {what} file this command can read: {e.Message}");
                return Cli.Failed;
            }

            using var session = globals.Open(parse, terminal);
            TResponse response;
            try
            {
                response = await send(session, request, session.Call(cancellationToken));
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.ResourceExhausted)
            {
                Cli.PrintError(terminal, $"{path.Name}: {e.Status.Detail} ({e.StatusCode}); nothing was imported");
                return Cli.Failed;
            }

            print(session.Output, path.Name, response);
            return Cli.Ok;
        });
        return command;
    }
}
