// A versioned model store: a directory of numbered versions, each the weights (safetensors), their metadata
// (JSON: metrics, data fingerprint, creation time, architecture, tags) and optional reference tensors (a sample
// of the training data, for drift monitoring), with a manifest naming the versions and the production one:
//
//   store/manifest.json          {"format": "xgrad-model-store", "versions": [1, 2, 3], "production": [1, 3]}
//   store/v000003/model.safetensors, metadata.json, reference.safetensors
//   store/.lock                  the writers' lock (flock)
//
// "production" is the history of promotions, the last one serving: rollback() goes back one step.
// Saving writes a version into a temporary directory, fsyncs it, renames it to its number, and only then
// rewrites the manifest (AtomicFileWriter): a save killed at any moment leaves the manifest as it was, and the
// next writer removes what it left. Writers hold an exclusive flock on store/.lock, so two processes saving at
// once get two versions; readers need no lock (every file they read changes by one rename).
// Every file is untrusted on load: a damaged manifest or version is an io_error naming the file, and the rest
// of the store stays usable (load(version) reads a version without the manifest).
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "../core/state_dict.hpp"
#include "../error.hpp"
#include "atomic_file.hpp"
#include "json_excerpt.hpp"
#include "safetensors.hpp"

namespace xgrad::io
{
    // What is kept beside a version's weights. `created` is set by save() (UTC, ISO 8601).
    struct ModelMetadata
    {
        std::map<std::string, double> metrics;     // e.g. {"test_accuracy": 0.88}; finite numbers only
        std::string data_fingerprint;              // e.g. a hash of the training set
        std::string architecture;                  // the model's summary (nn::Module::summary())
        std::map<std::string, std::string> tags;   // free-form
        std::string created;
    };

    struct ModelVersion
    {
        std::uint64_t version = 0;
        ModelMetadata metadata;
    };

    // The manifest, as parsed and checked.
    struct StoreManifest
    {
        std::vector<std::uint64_t> versions;     // ascending
        std::vector<std::uint64_t> production;   // promotion history; back() is in production
    };

    namespace detail
    {
        constexpr std::uint64_t max_store_version = 1000000000;   // v000000001 .. v1000000000
        constexpr std::uintmax_t max_store_json_bytes = 16u << 20;

        inline std::string version_directory_name(std::uint64_t version)
        {
            std::string digits = std::to_string(version);
            return "v" + std::string(digits.size() < 6 ? 6 - digits.size() : 0, '0') + digits;
        }

        // The version a directory name "v000012" stands for, or 0 when it is not one.
        inline std::uint64_t version_of_directory(const std::string& name)
        {
            if (name.size() < 7 || name.size() > 11 || name[0] != 'v')
                return 0;
            std::uint64_t version = 0;
            for (std::size_t i = 1; i < name.size(); ++i)
            {
                if (name[i] < '0' || name[i] > '9')
                    return 0;
                version = version * 10 + std::uint64_t(name[i] - '0');
            }
            return version <= max_store_version && version_directory_name(version) == name ? version : 0;
        }

        // A whole file, refused beyond `limit` bytes (a JSON file of the store is small).
        inline std::string read_small_file(const std::string& path, const std::string& who)
        {
            std::error_code error;
            const std::uintmax_t size = std::filesystem::file_size(path, error);
            if (error)
                throw io_error(who + ": " + path + ": cannot read it (" + error.message() + ")");
            if (size > max_store_json_bytes)
                throw io_error(who + ": " + path + ": " + std::to_string(size) +
                               " bytes, more than a store file holds");
            std::ifstream in(path, std::ios::binary);
            std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            if (!in.good() && !in.eof())
                throw io_error(who + ": " + path + ": reading failed");
            return text;
        }

        inline nlohmann::json parse_store_json(const std::string& text, const std::string& path)
        {
            nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
            if (parsed.is_discarded())
                throw io_error("model store: " + path + " is not valid JSON");
            if (!parsed.is_object())
                throw io_error("model store: " + path + " must hold a JSON object, got " + json_excerpt(parsed));
            return parsed;
        }

        // A version number from the manifest: a JSON integer in [1, max_store_version].
        inline std::uint64_t store_version_number(const nlohmann::json& value, const std::string& path,
                                                  const std::string& field)
        {
            if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0 ||
                value.get<std::uint64_t>() > max_store_version)
                throw io_error("model store: " + path + ": '" + field + "' must hold version numbers in [1, " +
                               std::to_string(max_store_version) + "], got " + json_excerpt(value));
            return value.get<std::uint64_t>();
        }

        inline std::vector<std::uint64_t> store_version_list(const nlohmann::json& manifest, const std::string& path,
                                                             const std::string& field)
        {
            const auto found = manifest.find(field);
            if (found == manifest.end() || !found->is_array())
                throw io_error("model store: " + path + ": '" + field + "' must be an array of version numbers");
            std::vector<std::uint64_t> numbers;
            for (const auto& value : *found)
                numbers.push_back(store_version_number(value, path, field));
            return numbers;
        }

        // The manifest's text (from `path`) checked: versions ascending without repeats, every production entry
        // one of them.
        inline StoreManifest parse_manifest(const std::string& text, const std::string& path)
        {
            const nlohmann::json manifest = parse_store_json(text, path);
            const auto format = manifest.find("format");
            if (format == manifest.end() || *format != "xgrad-model-store")
                throw io_error("model store: " + path +
                               " is not an xgrad model store manifest (no \"format\": "
                               "\"xgrad-model-store\")");
            StoreManifest parsed{store_version_list(manifest, path, "versions"),
                                 store_version_list(manifest, path, "production")};
            for (std::size_t i = 1; i < parsed.versions.size(); ++i)
                if (parsed.versions[i] <= parsed.versions[i - 1])
                    throw io_error("model store: " + path + ": 'versions' must be ascending without repeats");
            for (const std::uint64_t version : parsed.production)
                if (!std::binary_search(parsed.versions.begin(), parsed.versions.end(), version))
                    throw io_error("model store: " + path + ": production version " + std::to_string(version) +
                                   " is not among the versions");
            return parsed;
        }

        inline std::string manifest_text(const StoreManifest& manifest)
        {
            return nlohmann::json{{"format", "xgrad-model-store"},
                                  {"versions", manifest.versions},
                                  {"production", manifest.production}}
                       .dump(2) +
                   "\n";
        }

        inline const nlohmann::json& store_field(const nlohmann::json& object, const std::string& field,
                                                 const std::string& path)
        {
            const auto found = object.find(field);
            if (found == object.end())
                throw io_error("model store: " + path + ": no '" + field + "'");
            return *found;
        }

        inline std::string store_string(const nlohmann::json& object, const std::string& field, const std::string& path)
        {
            const nlohmann::json& value = store_field(object, field, path);
            if (!value.is_string())
                throw io_error("model store: " + path + ": '" + field + "' must be a string, got " +
                               json_excerpt(value));
            return value.get<std::string>();
        }

        // A version's metadata.json text (from `path`), checked: metrics finite numbers, tags strings.
        inline ModelMetadata parse_metadata(const std::string& text, const std::string& path)
        {
            const nlohmann::json json = parse_store_json(text, path);
            ModelMetadata metadata;
            metadata.data_fingerprint = store_string(json, "data_fingerprint", path);
            metadata.architecture = store_string(json, "architecture", path);
            metadata.created = store_string(json, "created", path);
            const nlohmann::json& metrics = store_field(json, "metrics", path);
            const nlohmann::json& tags = store_field(json, "tags", path);
            if (!metrics.is_object() || !tags.is_object())
                throw io_error("model store: " + path + ": 'metrics' and 'tags' must be objects");
            for (const auto& [name, value] : metrics.items())
            {
                if (!value.is_number() || !std::isfinite(value.get<double>()))
                    throw io_error("model store: " + path + ": metric '" + name + "' must be a finite number, got " +
                                   json_excerpt(value));
                metadata.metrics[name] = value.get<double>();
            }
            for (const auto& [name, value] : tags.items())
            {
                if (!value.is_string())
                    throw io_error("model store: " + path + ": tag '" + name + "' must be a string, got " +
                                   json_excerpt(value));
                metadata.tags[name] = value.get<std::string>();
            }
            return metadata;
        }

        inline std::string metadata_text(const ModelMetadata& metadata)
        {
            nlohmann::json metrics = nlohmann::json::object();
            for (const auto& [name, value] : metadata.metrics)
            {
                if (!std::isfinite(value))
                    throw value_error("ModelStore::save: metric '" + name + "' is not finite");
                metrics[name] = value;
            }
            return nlohmann::json{{"metrics", metrics},
                                  {"data_fingerprint", metadata.data_fingerprint},
                                  {"architecture", metadata.architecture},
                                  {"tags", metadata.tags},
                                  {"created", metadata.created}}
                       .dump(2) +
                   "\n";
        }

        inline std::string utc_now()
        {
            const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
            std::tm utc{};
            ::gmtime_r(&now, &utc);
            char text[32];
            std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
            return text;
        }

        inline void fsync_directory(const std::string& path, const std::string& who)
        {
            const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
                throw io_error(who + ": " + path + ": cannot open the directory (" + std::strerror(errno) + ")");
            const int synced = ::fsync(fd);
            ::close(fd);
            if (synced != 0)
                throw io_error(who + ": " + path + ": flushing the directory failed (" + std::strerror(errno) + ")");
        }

        // An exclusive flock on a file, released when destroyed (or when the process dies).
        class FileLock
        {
        public:
            FileLock(const std::string& path, const std::string& who)
            {
                fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
                if (fd_ < 0)
                    throw io_error(who + ": " + path + ": cannot open the lock file (" + std::strerror(errno) + ")");
                int locked;
                while ((locked = ::flock(fd_, LOCK_EX)) != 0 && errno == EINTR)
                {}
                if (locked != 0)
                {
                    const int error_number = errno;
                    ::close(fd_);
                    throw io_error(who + ": " + path + ": cannot lock (" + std::strerror(error_number) + ")");
                }
            }
            ~FileLock() { ::close(fd_); }
            FileLock(const FileLock&) = delete;
            FileLock& operator=(const FileLock&) = delete;

        private:
            int fd_ = -1;
        };

        template <class Model, class = void>
        struct has_summary : std::false_type
        {};
        template <class Model>
        struct has_summary<Model, std::void_t<decltype(std::declval<const Model&>().summary())>> : std::true_type
        {};
    }

    class ModelStore
    {
    public:
        // Opens the store at `directory`, creating the directory when it does not exist.
        explicit ModelStore(std::string directory) : directory_(std::move(directory))
        {
            std::error_code error;
            std::filesystem::create_directories(directory_, error);
            if (error || !std::filesystem::is_directory(directory_))
                throw io_error("ModelStore: " + directory_ + ": cannot create the store directory (" + error.message() +
                               ")");
        }

        const std::string& directory() const { return directory_; }
        std::string manifest_path() const { return directory_ + "/manifest.json"; }
        std::string version_path(std::uint64_t version) const
        {
            return directory_ + "/" + detail::version_directory_name(version);
        }

        // Saves `model` (anything with state_dict()) as a new version and returns its number. The metadata's
        // architecture, when empty, is the model's summary() where it has one; `created` is now. `reference`:
        // tensors kept with the version (for example a sample of the training inputs, for drift monitoring).
        // The new version is not in production until promote().
        template <class Model, class T = typename Model::value_type>
        std::uint64_t save(const Model& model, ModelMetadata metadata, const StateDict<T>& reference = {})
        {
            if constexpr (detail::has_summary<Model>::value)
                if (metadata.architecture.empty())
                    metadata.architecture = model.summary();
            metadata.created = detail::utc_now();
            const std::string metadata_json = detail::metadata_text(metadata);
            const StateDict<T> weights = model.state_dict();

            detail::FileLock lock(lock_path(), "ModelStore::save");
            auto [current, version] = prepare_save();

            // The version, complete and on the disk, under a name no reader looks at; then its number.
            const std::string staging = directory_ + "/" + staging_prefix + std::to_string(::getpid());
            std::error_code error;
            if (!std::filesystem::create_directory(staging, error))
                throw io_error("ModelStore::save: " + staging + ": cannot create it (" + error.message() + ")");
            save_safetensors(weights, staging + "/model.safetensors");
            if (!reference.empty())
                save_safetensors(reference, staging + "/reference.safetensors");
            write_file_atomically(staging + "/metadata.json", metadata_json, "ModelStore::save");
            detail::fsync_directory(staging, "ModelStore::save");
            std::filesystem::rename(staging, version_path(version), error);
            if (error)
                throw io_error("ModelStore::save: cannot rename " + staging + " to " + version_path(version) + " (" +
                               error.message() + ")");
            detail::fsync_directory(directory_, "ModelStore::save");

            current.versions.push_back(version);
            write_manifest(current);
            return version;
        }

        // The manifest (io_error naming manifest.json when it is damaged; an empty store has no versions).
        StoreManifest manifest() const
        {
            if (!std::filesystem::exists(manifest_path()))
                return {};
            return detail::parse_manifest(detail::read_small_file(manifest_path(), "ModelStore"), manifest_path());
        }

        // Every version the manifest names, with its metadata, oldest first.
        std::vector<ModelVersion> list() const
        {
            std::vector<ModelVersion> versions;
            for (const std::uint64_t version : manifest().versions)
                versions.push_back({version, metadata(version)});
            return versions;
        }

        // The version in production (io_error when none is).
        std::uint64_t production_version() const
        {
            const StoreManifest current = manifest();
            if (current.production.empty())
                throw io_error("ModelStore: " + manifest_path() + ": no version is in production (promote one)");
            return current.production.back();
        }

        ModelMetadata metadata(std::uint64_t version) const
        {
            const std::string path = version_path(version) + "/metadata.json";
            check_exists(version);
            return detail::parse_metadata(detail::read_small_file(path, "ModelStore"), path);
        }

        // Loads a version's weights into `model` (strict: every entry of the right shape, else nothing changes)
        // and returns its metadata. Reads the version's files only, so it works with a damaged manifest.
        template <class Model>
        ModelMetadata load(std::uint64_t version, Model& model) const
        {
            using T = typename Model::value_type;
            ModelMetadata loaded = metadata(version);
            model.load_state_dict(load_safetensors<T>(version_path(version) + "/model.safetensors"));
            return loaded;
        }

        template <class Model>
        ModelVersion load_production(Model& model) const
        {
            const std::uint64_t version = production_version();
            return {version, load(version, model)};
        }

        // The reference tensors saved with a version (empty when it has none).
        template <class T>
        StateDict<T> reference(std::uint64_t version) const
        {
            check_exists(version);
            const std::string path = version_path(version) + "/reference.safetensors";
            return std::filesystem::exists(path) ? load_safetensors<T>(path) : StateDict<T>{};
        }

        // Puts `version` in production (after checking its metadata reads).
        void promote(std::uint64_t version)
        {
            detail::FileLock lock(lock_path(), "ModelStore::promote");
            StoreManifest current = manifest();
            if (!std::binary_search(current.versions.begin(), current.versions.end(), version))
                throw value_error("ModelStore::promote: " + directory_ + " has no version " + std::to_string(version));
            metadata(version);
            current.production.push_back(version);
            write_manifest(current);
        }

        // Puts the previous production version back in production and returns it.
        std::uint64_t rollback()
        {
            detail::FileLock lock(lock_path(), "ModelStore::rollback");
            StoreManifest current = manifest();
            if (current.production.size() < 2)
                throw value_error("ModelStore::rollback: " + directory_ + " has no earlier production version");
            current.production.pop_back();
            write_manifest(current);
            return current.production.back();
        }

    private:
        static constexpr const char* staging_prefix = ".saving.";

        std::string lock_path() const { return directory_ + "/.lock"; }

        void check_exists(std::uint64_t version) const
        {
            if (!std::filesystem::is_directory(version_path(version)))
                throw io_error("ModelStore: " + version_path(version) + ": no such version");
        }

        // Under the lock: the manifest, or an empty one for a new store (refused when version directories
        // exist without a manifest: it was removed, and a new one would hide them), and removes the staging
        // directories of killed saves. A version directory a killed save renamed but did not enter stays
        // (harmless, unlisted); its number is not given again.
        std::pair<StoreManifest, std::uint64_t> prepare_save() const
        {
            StoreManifest current = manifest();
            const bool has_manifest = std::filesystem::exists(manifest_path());
            std::uint64_t highest = current.versions.empty() ? 0 : current.versions.back();
            std::vector<std::filesystem::path> staging;
            std::error_code error;
            for (std::filesystem::directory_iterator it(directory_, error), end; !error && it != end;
                 it.increment(error))
            {
                const std::string name = it->path().filename().string();
                const std::uint64_t version = detail::version_of_directory(name);
                if (version != 0 && !has_manifest)
                    throw io_error("ModelStore::save: " + manifest_path() + " is missing but the store holds " + name);
                highest = std::max(highest, version);
                if (name.rfind(staging_prefix, 0) == 0)
                    staging.push_back(it->path());
            }
            if (error)
                throw io_error("ModelStore::save: " + directory_ + ": cannot list the store (" + error.message() + ")");
            for (const auto& path : staging)
                std::filesystem::remove_all(path, error);
            if (highest >= detail::max_store_version)
                throw io_error("ModelStore::save: " + directory_ + " holds the largest version number already");
            return {current, highest + 1};
        }

        void write_manifest(const StoreManifest& current) const
        {
            write_file_atomically(manifest_path(), detail::manifest_text(current), "ModelStore");
        }

        std::string directory_;
    };
}
