// Add a card: mount Stripe Elements for the SetupIntent the page was rendered with
// (its client secret and the account's publishable key are data attributes of the form).
(function () {
  "use strict";
  var form = document.getElementById("setup-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  var card = elements.create("payment");
  card.mount("#setup-element");
  var message = document.getElementById("setup-message");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("setup-submit").disabled = true;
    stripe.confirmSetup({
      elements: elements,
      confirmParams: { return_url: form.dataset.returnUrl }
    }).then(function (result) {
      if (result.error) {
        message.textContent = result.error.message;
        document.getElementById("setup-submit").disabled = false;
      }
    });
  });
})();
