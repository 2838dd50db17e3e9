// Add a card: mount a Stripe card Element for the SetupIntent the page was rendered with
// (its client secret and the account's publishable key are data attributes of the form),
// confirm it with confirmCardSetup and go on to the payment methods page. The card
// appears there once Stripe's setup_intent.succeeded webhook has arrived.
(function () {
  "use strict";
  var form = document.getElementById("setup-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#setup-element");
  var message = document.getElementById("setup-message");
  var submit = document.getElementById("setup-submit");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = "";
    stripe.confirmCardSetup(form.dataset.clientSecret, {
      payment_method: { card: card }
    }).then(function (result) {
      if (result.error) {
        message.textContent = result.error.message || "The card was not saved.";
        submit.disabled = false;
      } else {
        window.location.assign(form.dataset.returnUrl);
      }
    });
  });
  // rendered disabled: a click before this handler is in place would submit the bare form
  submit.disabled = false;
})();
